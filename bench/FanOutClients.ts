/**
 * One of the fan-out scenario's client processes: holds a share of the
 * `GET /api/results/stream` clients (argv[2], JSON: url, streams, wave), so
 * no single load process is what limits 10,000 of them. Talks to the bench
 * over the IPC channel:
 *   → { type: "open", streams }  every stream has its first results event
 *   ← { type: "watch", above }   stamp, per stream, the first event with total > above
 *   → { type: "watching" }       ready: the bench casts its vote now
 *   → { type: "arrivals", at, missing }  those stamps (ms since the epoch, sub-ms), and streams that saw none
 *   ← { type: "close" }           drop every stream and exit
 * Arrival times are `performance.timeOrigin + performance.now()` at the
 * chunk's arrival, so the bench can compare them with its own clock.
 */
import { request } from "node:http"
import { takeResultsEvents } from "../test/support/ResultsEvents.ts"

interface Settings {
  readonly url: string
  readonly streams: number
  /** Streams opened at once; the next wave starts when these have their answer's head. */
  readonly wave: number
}

type FromBench =
  | { readonly type: "watch"; readonly above: number; readonly timeoutMs: number }
  | { readonly type: "close" }

const settings = JSON.parse(process.argv[2] ?? "{}") as Settings
const send = (message: unknown) => process.send?.(message)
const now = () => performance.timeOrigin + performance.now()

interface Client {
  total: number | undefined
  arrivedAt: number | undefined
  buffer: string
  readonly destroy: () => void
}

const clients: Array<Client> = []
let watching: { readonly above: number; arrived: number; readonly timer: NodeJS.Timeout } | undefined
let firstEvents = 0
let onAllOpen: (() => void) | undefined

const report = () => {
  if (watching === undefined) return
  clearTimeout(watching.timer)
  watching = undefined
  const at = clients.flatMap((client) => (client.arrivedAt === undefined ? [] : [client.arrivedAt]))
  send({ type: "arrivals", at, missing: clients.length - at.length })
}

const onChunk = (client: Client, chunk: string, receivedAt: number) => {
  const { events, rest } = takeResultsEvents<{ readonly total: number }>(client.buffer + chunk)
  client.buffer = rest
  for (const event of events) {
    if (client.total === undefined) {
      firstEvents++
      if (firstEvents === settings.streams) onAllOpen?.()
    }
    client.total = event.total
    if (watching !== undefined && client.arrivedAt === undefined && event.total > watching.above) {
      client.arrivedAt = receivedAt
      watching.arrived++
      if (watching.arrived === clients.length) report()
    }
  }
}

const open = () =>
  new Promise<void>((resolve, reject) => {
    const req = request(settings.url, { headers: { accept: "text/event-stream" }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`${settings.url} answered ${response.statusCode}`))
        response.resume()
        return
      }
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => onChunk(client, chunk, now()))
      response.on("error", () => {})
      resolve()
    })
    const client: Client = { total: undefined, arrivedAt: undefined, buffer: "", destroy: () => req.destroy() }
    clients.push(client)
    req.on("error", reject)
    req.end()
  })

const main = async () => {
  const allOpen = new Promise<void>((resolve) => {
    onAllOpen = resolve
  })
  for (let opened = 0; opened < settings.streams; opened += settings.wave) {
    const wave = Math.min(settings.wave, settings.streams - opened)
    await Promise.all(Array.from({ length: wave }, open))
  }
  await allOpen
  send({ type: "open", streams: clients.length })
}

process.on("message", (message: FromBench) => {
  if (message.type === "watch") {
    for (const client of clients) client.arrivedAt = undefined
    watching = { above: message.above, arrived: 0, timer: setTimeout(report, message.timeoutMs) }
    // The bench casts its vote only once every process is watching, so no arrival can come before this.
    send({ type: "watching" })
  } else {
    for (const client of clients) client.destroy()
    process.exit(0)
  }
})

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
