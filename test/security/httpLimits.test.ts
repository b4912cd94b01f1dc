import { connect, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, type RunningComponent, startComponent } from "../support/Processes.ts"
import { rawRequest } from "../support/RawHttp.ts"
import { type NpmStart, startNpmStart } from "./support/NpmStart.ts"

/**
 * Slow and idle clients against real processes: a socket that trickles its
 * headers or its body is cut at the server's limits (20 s for the headers, 30
 * s for the whole request; Node's defaults held them 60 s and 300 s, checked
 * only every 30 s), while an event stream, a GET that is received at once,
 * stays open past both. Each listener holds at most MAX_CONNECTIONS: the rest
 * are closed as they arrive, and the management port has a cap of its own.
 */

const headersLimitMs = 20_000
const requestLimitMs = 30_000
/** The server checks its limits every second; the rest is a loaded machine's slack. */
const marginMs = 3_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Watched {
  readonly socket: Socket
  /** Resolves with when the server closed the socket, ms after it was opened, and what it had sent. */
  readonly closed: Promise<{ readonly afterMs: number; readonly received: string }>
  readonly received: () => string
  readonly isOpen: () => boolean
}

const openSocket = (port: number): Watched => {
  const socket = connect({ host: "127.0.0.1", port })
  const opened = Date.now()
  let received = ""
  let open = true
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1")
  })
  socket.on("error", () => {})
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.on("close", () => {
      open = false
      resolve({ afterMs: Date.now() - opened, received })
    })
  )
  return { socket, closed, received: () => received, isOpen: () => open }
}

/** Writes `chunks` one every `everyMs` until the socket closes or they run out. */
const trickle = async (watched: Watched, chunks: ReadonlyArray<string>, everyMs: number) => {
  for (const chunk of chunks) {
    if (!watched.isOpen()) return
    watched.socket.write(chunk)
    await sleep(everyMs)
  }
}

/** A complete keep-alive request: resolves true once its answer arrived on the still-open socket. */
const answered = async (watched: Watched, path: string) => {
  watched.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  const deadline = Date.now() + 3_000
  while (Date.now() < deadline && watched.isOpen() && !/\r\n\r\n/.test(watched.received())) await sleep(10)
  return watched.isOpen() && /^HTTP\/1\.1 200 /.test(watched.received())
}

/** Polls `path` with a fresh connection (closed after each answer, so the test holds none) until it is 200. */
const waitForAnswer = async (port: number, path: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const response = await rawRequest(
      port,
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      2_000
    ).catch(() => undefined)
    if (response?.status === 200) return
    await sleep(100)
  }
  throw new Error(`port ${port} never answered ${path}`)
}

/** True when a fresh connection to `port` gets an answer; false when the server closes it unanswered. */
const freshClientAnswered = async (port: number, path: string) => {
  const response = await rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    3_000
  ).catch(() => undefined)
  return response?.status === 200
}

describe("slow clients are cut at the request limits; event streams are not", () => {
  let app: NpmStart
  let vote: RunningComponent
  let managementPort: number

  beforeAll(async () => {
    managementPort = await freePort()
    ;[app, vote] = await Promise.all([
      startNpmStart(),
      // No Redis behind it: this vote service is unready, which changes nothing for its listeners.
      startComponent("vote", {
        port: await freePort(),
        env: { REDIS_URL: "redis://127.0.0.1:1", MANAGEMENT_PORT: String(managementPort), MAX_CONNECTIONS: "20" },
        waitFor: "nothing"
      })
    ])
    await waitForAnswer(managementPort, "/livez")
  }, 120_000)

  afterAll(async () => {
    await Promise.all([app?.stop(), vote?.stop()])
  }, 60_000)

  it("closes trickling headers and bodies with 408 at 20 s and 30 s, idle new sockets at 20 s, on every port, while an event stream stays open past 30 s", async () => {
    const silent = openSocket(app.votePort)
    const slowHeaders = openSocket(app.votePort)
    const slowBody = openSocket(app.votePort)
    const resultSlowHeaders = openSocket(app.resultPort)
    const managementSlowHeaders = openSocket(managementPort)
    const managementSilent = openSocket(managementPort)
    const stream = openSocket(app.resultPort)
    stream.socket.write("GET /api/results/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

    const headerLines = ["GET / HTTP/1.1\r\n", ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: x\r\n`)]
    const body = '{"vote":"a"}'.padEnd(200, " ")
    void trickle(slowHeaders, headerLines, 1_000)
    void trickle(resultSlowHeaders, headerLines, 1_000)
    void trickle(managementSlowHeaders, headerLines, 1_000)
    slowBody.socket.write(
      `POST /api/vote HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
    )
    void trickle(slowBody, [...body], 1_000)

    const headerCuts = await Promise.all(
      [silent, slowHeaders, resultSlowHeaders, managementSlowHeaders, managementSilent].map((watched) => watched.closed)
    )
    for (const cut of headerCuts) {
      expect(cut.afterMs).toBeGreaterThanOrEqual(headersLimitMs - 500)
      expect(cut.afterMs).toBeLessThan(headersLimitMs + marginMs)
      expect(cut.received).toMatch(/^HTTP\/1\.1 408 /)
    }
    // The body was still arriving, byte by byte: the headers limit did not cut it.
    expect(slowBody.isOpen()).toBe(true)

    const bodyCut = await slowBody.closed
    expect(bodyCut.afterMs).toBeGreaterThanOrEqual(requestLimitMs - 500)
    expect(bodyCut.afterMs).toBeLessThan(requestLimitMs + marginMs)
    expect(bodyCut.received).toMatch(/^HTTP\/1\.1 408 /)

    // The event stream was received in full at once; answering it for longer is not receiving it.
    await sleep(marginMs)
    expect(stream.isOpen()).toBe(true)
    expect(stream.received()).toMatch(/^HTTP\/1\.1 200 /)
    expect(stream.received()).toMatch(/event: results\n/)
    // Two heartbeats (one every 15 s) came after the first event: the stream kept flowing, not stalled.
    expect(stream.received().match(/: heartbeat\n/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
    stream.socket.destroy()
  }, 90_000)

  it("holds at most MAX_CONNECTIONS on a port and closes the rest unanswered; the management port has its own cap", async () => {
    const cap = 20
    for (const [port, path] of [
      [vote.port, "/"],
      [managementPort, "/livez"]
    ] as const) {
      const held: Array<Watched> = []
      // Idle keep-alive clients, as the 400 were: each has had its answer and stays connected.
      for (let i = 0; i < cap; i++) {
        const watched = openSocket(port)
        held.push(watched)
        expect(await answered(watched, path), `connection ${i + 1} of ${cap} on port ${port}`).toBe(true)
      }
      const extra = Array.from({ length: 5 }, () => openSocket(port))
      for (const watched of extra) {
        const cut = await Promise.race([watched.closed, sleep(2_000).then(() => undefined)])
        expect(cut, `a connection over the cap on port ${port} was kept`).toBeDefined()
        expect(cut?.afterMs).toBeLessThan(1_000)
        expect(cut?.received).toBe("")
      }
      // A normal client gets no answer on this port while it is full...
      expect(await freshClientAnswered(port, path)).toBe(false)
      // ...while the other listener of the same process still answers.
      const other = port === vote.port ? managementPort : vote.port
      expect(await freshClientAnswered(other, other === managementPort ? "/livez" : "/")).toBe(true)
      // The held ones were not disturbed, and once they leave, the port answers again.
      expect(held.every((watched) => watched.isOpen())).toBe(true)
      for (const watched of held) watched.socket.destroy()
      await waitForAnswer(port, path, 5_000)
    }
  }, 60_000)
})
