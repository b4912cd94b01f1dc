import { once } from "node:events"
import { createServer, type IncomingMessage, request, type Server } from "node:http"
import { connect } from "node:net"
import { takeResultsEvents } from "@voting/test-support/ResultsEvents"
import { afterEach, assert, describe, it } from "vitest"
import { EventStreams, frame } from "../src/EventStreams.ts"

/**
 * EventStreams over real sockets: a node:http server writes each answer's
 * head and hands the response to it, and node:http clients read the answers, so the chunk framing written
 * straight to the sockets is checked by a real HTTP parser.
 */

const head = { status: 200, headers: { "content-type": "text/event-stream" } }
const preamble = Buffer.from("retry: 2000\n\n")
const event = (n: number, padding = 0) =>
  frame(Buffer.from(`event: results\ndata: ${JSON.stringify({ n, padding: "x".repeat(padding) })}\n\n`))

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  server?.close()
  server = undefined
})

const serve = async (streams: EventStreams, ended: Array<number>) => {
  let opened = 0
  server = createServer((_request, response) => {
    const id = opened++
    // As the router does: the head first, and the response ended when the stream ends.
    response.writeHead(head.status, head.headers)
    streams.add(response, () => {
      response.end()
      ended.push(id)
    })
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no port")
  return address.port
}

interface Reader {
  readonly response: IncomingMessage
  readonly events: Array<{ readonly n: number }>
  readonly text: () => string
  /** Resolves once an event satisfying `test` came. */
  readonly until: (test: (n: number) => boolean) => Promise<void>
  readonly ended: Promise<unknown>
}

const open = (port: number) =>
  new Promise<Reader>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (response) => {
      const events: Array<{ n: number }> = []
      let text = ""
      let buffer = ""
      let waiter: { test: (n: number) => boolean; done: () => void } | undefined
      response.setEncoding("utf8")
      // The server closes what is still open after each test.
      response.on("error", () => {})
      response.on("data", (chunk: string) => {
        text += chunk
        const taken = takeResultsEvents<{ n: number }>(buffer + chunk)
        buffer = taken.rest
        events.push(...taken.events)
        if (waiter !== undefined && taken.events.some((e) => waiter!.test(e.n))) waiter.done()
      })
      const ended = once(response, "end")
      // Awaited only by the tests that end their streams; the others are cut by the server's close.
      ended.catch(() => {})
      resolve({
        response,
        events,
        text: () => text,
        until: (test) =>
          events.some((e) => test(e.n))
            ? Promise.resolve()
            : new Promise<void>((done) => {
                waiter = { test, done }
              }),
        ended
      })
    })
    req.on("error", reject)
    req.end()
  })

describe("EventStreams", () => {
  it("starts each stream with its head, the preamble and the latest event, sends every stream each event, and ends them all", async () => {
    const streams = new EventStreams(preamble)
    const ended: Array<number> = []
    streams.publish(event(1))
    const port = await serve(streams, ended)
    const readers = await Promise.all([open(port), open(port), open(port)])
    await Promise.all(readers.map((reader) => reader.until((n) => n === 1)))
    assert.strictEqual(streams.size, 3)
    for (const n of [2, 3]) streams.publish(event(n))
    await Promise.all(readers.map((reader) => reader.until((n) => n === 3)))
    streams.endAll()
    await Promise.all(readers.map((reader) => reader.ended))
    for (const reader of readers) {
      assert.strictEqual(reader.response.statusCode, 200)
      assert.strictEqual(reader.response.headers["content-type"], "text/event-stream")
      assert.strictEqual(reader.response.headers["transfer-encoding"], "chunked")
      assert.isTrue(reader.text().startsWith("retry: 2000\n\n"))
      assert.deepStrictEqual(
        reader.events.map((e) => e.n),
        [1, 2, 3]
      )
    }
    assert.sameMembers(ended, [0, 1, 2])
    assert.strictEqual(streams.size, 0)
    // A stream that starts after the end is ended at once.
    const late = await open(port)
    await late.ended
    assert.strictEqual(late.text(), "retry: 2000\n\n")
  })

  it("sends a client that does not read only the latest event once it reads again, and the others every event meanwhile", async () => {
    const streams = new EventStreams(preamble)
    const port = await serve(streams, [])
    const stalled = await open(port)
    const reading = await open(port)
    stalled.response.pause()
    // 80 events of 256 KiB: far more than the kernel holds for a socket that is not read.
    const events = 80
    for (let n = 1; n <= events; n++) {
      streams.publish(event(n, 256 * 1024))
      await reading.until((seen) => seen === n)
    }
    stalled.response.resume()
    await stalled.until((n) => n === events)
    const seen = stalled.events.map((e) => e.n)
    assert.deepStrictEqual(
      reading.events.map((e) => e.n),
      Array.from({ length: events }, (_, i) => i + 1)
    )
    // What the sockets held before they filled (1 to k, in order), then the latest alone: none of the skipped ones.
    const held = seen.slice(0, -1)
    assert.strictEqual(seen.at(-1), events)
    assert.deepStrictEqual(
      held,
      Array.from({ length: held.length }, (_, i) => i + 1)
    )
    assert.isBelow(held.length, events - 1)
  })

  it("writes an HTTP/1.0 client's body unchunked", async () => {
    const streams = new EventStreams(preamble)
    const port = await serve(streams, [])
    const socket = connect({ host: "127.0.0.1", port })
    socket.on("error", () => {})
    let received = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      received += chunk
    })
    socket.write("GET / HTTP/1.0\r\nHost: result.test\r\n\r\n")
    while (streams.size === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    streams.publish(event(1))
    streams.endAll()
    await once(socket, "close")
    const body = received.slice(received.indexOf("\r\n\r\n") + 4)
    assert.strictEqual(body, `retry: 2000\n\nevent: results\ndata: ${JSON.stringify({ n: 1, padding: "" })}\n\n`)
  })
})
