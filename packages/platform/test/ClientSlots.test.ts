import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { ClientSlots } from "../src/ClientSlots.ts"

describe("client slots", () => {
  it("refuses a client over its own cap, then anyone over the process's, and takes slots back", () => {
    const slots = new ClientSlots(2, 3)
    assert.isUndefined(slots.take("a"))
    assert.isUndefined(slots.take("a"))
    assert.strictEqual(slots.take("a"), "per-client")
    assert.isUndefined(slots.take("b"))
    assert.strictEqual(slots.take("c"), "capacity")
    assert.strictEqual(slots.open, 3)
    slots.release("a")
    assert.strictEqual(slots.heldBy("a"), 1)
    assert.isUndefined(slots.take("c"))
    // A key that holds nothing gives nothing back.
    slots.release("nobody")
    assert.strictEqual(slots.open, 3)
  })

  it("keeps no entry for a client that holds nothing", () => {
    const slots = new ClientSlots(5, 0)
    for (let i = 0; i < 1000; i++) assert.isUndefined(slots.take(`client-${i}`))
    for (let i = 0; i < 1000; i++) slots.release(`client-${i}`)
    assert.strictEqual(slots.open, 0)
    assert.strictEqual(slots.heldBy("client-1"), 0)
    assert.strictEqual((slots as unknown as { held: Map<string, number> }).held.size, 0)
  })

  it("has no cap at 0", () => {
    const slots = new ClientSlots(0, 0)
    for (let i = 0; i < 10_000; i++) assert.isUndefined(slots.take("a"))
  })

  it("gives a held slot back once, however often its release is called", () => {
    const slots = new ClientSlots(1, 0)
    const request = HttpServerRequest.fromWeb(new Request("http://result.test/api/results/stream")).modify({
      remoteAddress: Option.some("127.0.0.1")
    })
    const release = slots.hold("a", request)
    assert.isFunction(release)
    assert.strictEqual(slots.hold("a", request), "per-client")
    if (typeof release === "function") {
      release()
      release()
    }
    assert.strictEqual(slots.open, 0)
    assert.isFunction(slots.hold("a", request))
  })
})
