import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import type { RunningComponent } from "../support/Processes.ts"

/**
 * One client cannot hold every event stream of a result process, and the
 * process holds no more than its cap: small caps here (3 per client, 5 in
 * all) so that the refusals show with a handful of streams. The service trusts
 * 127.0.0.1 as a proxy, so streams from there name their client in
 * X-Forwarded-For; 127.0.0.2 talks to it directly and its header is ignored.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface OpenStream {
  readonly status: number
  readonly headers: IncomingMessage["headers"]
  readonly body: () => string
  readonly close: () => void
}

/** Opens `GET /api/results/stream` from the local address `from` and waits for the answer's head. */
const openStream = (port: number, options: { readonly forwardedFor?: string; readonly from?: string } = {}) =>
  new Promise<OpenStream>((resolve, reject) => {
    let request: ClientRequest | undefined
    request = httpRequest(
      {
        host: "127.0.0.1",
        port,
        localAddress: options.from ?? "127.0.0.1",
        path: "/api/results/stream",
        headers: options.forwardedFor === undefined ? {} : { "x-forwarded-for": options.forwardedFor },
        agent: false
      },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          body += chunk
        })
        response.on("error", () => {})
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: () => body,
          close: () => request?.destroy()
        })
      }
    )
    request.on("error", reject)
    request.end()
  })

describe("the result service caps event streams per client and per process", () => {
  let deployment: Deployment
  let result: RunningComponent
  const opened: Array<OpenStream> = []
  const open = async (options: { readonly forwardedFor?: string; readonly from?: string }) => {
    const stream = await openStream(result.port, options)
    opened.push(stream)
    return stream
  }

  const metric = async (pattern: RegExp) => {
    const metrics = await (await fetch(`${result.url}/metrics`)).text()
    return Number(pattern.exec(metrics)?.[1] ?? 0)
  }
  const openStreams = () => metric(/^result_stream_clients(?:\{[^}]*\})? (\d+)/m)
  const refused = (reason: string) =>
    metric(new RegExp(`^result_streams_refused_total\\{reason="${reason}"\\} (\\d+)`, "m"))

  beforeAll(async () => {
    deployment = await startDeployment({
      env: { TRUSTED_PROXIES: "127.0.0.1/32", RESULT_STREAMS_PER_CLIENT: "3", RESULT_STREAMS_MAX: "5" }
    })
    result = await deployment.start("result")
  }, 120_000)

  afterAll(async () => {
    for (const stream of opened) stream.close()
    if (deployment === undefined) return
    await deployment.tearDown()
  }, 60_000)

  it("refuses a client's stream over its cap with 503 and Retry-After while another client is served, and the process's over its cap", async () => {
    for (let i = 0; i < 3; i++) expect((await open({ forwardedFor: "198.51.100.1" })).status).toBe(200)
    const fourth = await open({ forwardedFor: "198.51.100.1" })
    expect(fourth.status).toBe(503)
    expect(Number(fourth.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(fourth.headers["content-type"]).not.toMatch(/event-stream/)
    expect(await refused("per-client")).toBe(1)

    // Another client is served, up to what the process holds in all (5).
    for (let i = 0; i < 2; i++) expect((await open({ forwardedFor: "198.51.100.2" })).status).toBe(200)
    expect(await openStreams()).toBe(5)
    const overProcess = await open({ forwardedFor: "198.51.100.3" })
    expect(overProcess.status).toBe(503)
    expect(Number(overProcess.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(await refused("capacity")).toBe(1)

    // A stream that closes gives its slot back: the next client gets it, with the current results.
    opened[0]!.close()
    const deadline = Date.now() + 10_000
    let next = await open({ forwardedFor: "198.51.100.3" })
    while (next.status !== 200 && Date.now() < deadline) {
      await sleep(100)
      next = await open({ forwardedFor: "198.51.100.3" })
    }
    expect(next.status).toBe(200)
    while (!next.body().includes("event: results") && Date.now() < deadline) await sleep(50)
    expect(next.body()).toContain("event: results")

    for (const stream of opened) stream.close()
    opened.length = 0
    const drained = Date.now() + 10_000
    while ((await openStreams()) !== 0 && Date.now() < drained) await sleep(100)
    expect(await openStreams()).toBe(0)
  }, 60_000)

  it("counts a peer that is not a trusted proxy by its own address, whatever X-Forwarded-For it sends", async () => {
    for (let i = 0; i < 3; i++) {
      expect((await open({ from: "127.0.0.2", forwardedFor: `198.51.100.${10 + i}` })).status).toBe(200)
    }
    expect((await open({ from: "127.0.0.2", forwardedFor: "198.51.100.20" })).status).toBe(503)
    // The address it claimed is served when it comes through the proxy.
    expect((await open({ forwardedFor: "198.51.100.20" })).status).toBe(200)
  }, 60_000)
})
