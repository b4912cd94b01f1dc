import type { HttpServerRequest } from "effect/http"
import { nodeResponseOf } from "./HttpServer.ts"

/** Which cap refused a slot: the client's own, or the process's. */
export type SlotRefusal = "per-client" | "capacity"

/**
 * Counts what each client holds open (event streams, say) against two caps:
 * `perClient` for one client key, `max` for the whole process; `0` turns a cap
 * off. A client's entry goes when its count does, so the map never holds more
 * entries than there are open slots.
 */
export class ClientSlots {
  readonly perClient: number
  readonly max: number
  private readonly held = new Map<string, number>()
  private total = 0

  constructor(perClient: number, max: number) {
    this.perClient = perClient
    this.max = max
  }

  /** Slots held now, by everyone. */
  get open(): number {
    return this.total
  }

  /** Slots held now by `key`. */
  heldBy(key: string): number {
    return this.held.get(key) ?? 0
  }

  /** Takes a slot for `key`: undefined when taken, else the cap that refused it. */
  take(key: string): SlotRefusal | undefined {
    const mine = this.held.get(key) ?? 0
    if (this.perClient > 0 && mine >= this.perClient) return "per-client"
    if (this.max > 0 && this.total >= this.max) return "capacity"
    this.held.set(key, mine + 1)
    this.total++
    return undefined
  }

  /** Gives back a slot `key` took. */
  release(key: string): void {
    const mine = this.held.get(key)
    if (mine === undefined) return
    if (mine <= 1) this.held.delete(key)
    else this.held.set(key, mine - 1)
    this.total--
  }

  /**
   * Takes a slot for `key` and holds it for as long as the response to
   * `request` is open: given back once, when Node closes that response
   * (finished, or the client went away, even before its body began), or when
   * the returned release is called, whichever comes first.
   */
  hold(key: string, request: HttpServerRequest.HttpServerRequest): SlotRefusal | (() => void) {
    const refused = this.take(key)
    if (refused !== undefined) return refused
    let held = true
    const release = () => {
      if (!held) return
      held = false
      this.release(key)
    }
    nodeResponseOf(request)?.once("close", release)
    return release
  }
}
