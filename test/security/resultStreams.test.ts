import { readFileSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { LoadClient } from "../support/LoadClient.ts"
import type { RunningComponent } from "../support/Processes.ts"
import { watchResults } from "../support/ResultsWatcher.ts"

/**
 * The result service's event stream under hostile clients: many opening and
 * dropping at once, and many that never read. Long labels make every event
 * about 1 KiB, so buffering for slow readers would show in the process's memory.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const optionIds = ["a", "b", "c", "d", "e", "f", "g", "h"]
const pollOptions = optionIds.map((id) => `${id}=${id.toUpperCase()}${"-label".repeat(16)}`).join(",")

const residentBytes = (pid: number) => {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
  return Number(kb) * 1024
}

describe("the results stream under many, fickle and slow clients", () => {
  let deployment: Deployment
  let vote: RunningComponent
  let result: RunningComponent

  const openStreams = async () => {
    const metrics = await (await fetch(`${result.url}/metrics`)).text()
    return Number(/^result_stream_clients(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? Number.NaN)
  }
  const waitForOpenStreams = async (count: number) => {
    const deadline = Date.now() + 15_000
    while ((await openStreams()) !== count && Date.now() < deadline) await sleep(100)
    return openStreams()
  }

  beforeAll(async () => {
    // The hundreds of stream clients and the load client stand for as many browsers and voters, but all
    // come from 127.0.0.1: the per-client caps are off here (resultStreamCaps.test.ts and
    // voteRateLimit.test.ts hold them), the per-process stream cap stays at its default.
    deployment = await startDeployment({
      pollTitle: "Which one?",
      pollOptions,
      env: { RESULT_STREAMS_PER_CLIENT: "0", VOTE_RATE_LIMIT: "0" }
    })
    ;[vote, result] = await Promise.all([deployment.start("vote"), deployment.start("result")])
    await deployment.start("worker")
  }, 120_000)

  afterAll(async () => {
    if (deployment === undefined) return
    const metrics = await (await fetch(`${result.url}/metrics`)).text()
    await deployment.tearDown()
    expect(metrics + deployment.allOutput()).not.toContain(deployment.secret)
  }, 60_000)

  it("lets hundreds of clients open and drop streams at once, and keeps no trace of them", async () => {
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(
        Array.from({ length: 150 }, async (_, i) => {
          const controller = new AbortController()
          const response = await fetch(`${result.url}/api/results/stream`, { signal: controller.signal })
          expect(response.status).toBe(200)
          const reader = response.body!.getReader()
          // Half drop at once, half after the first event.
          if (i % 2 === 1) await reader.read()
          controller.abort()
          await reader.cancel().catch(() => {})
        })
      )
    }
    expect(await waitForOpenStreams(0)).toBe(0)
    // Still serving: a new client gets the current results at once.
    const watcher = await watchResults(result.url)
    const deadline = Date.now() + 5_000
    while (watcher.state.events === 0 && Date.now() < deadline) await sleep(50)
    await watcher.close()
    expect(watcher.state.events).toBeGreaterThan(0)
  }, 120_000)

  it("keeps its memory bounded with 200 clients that never read, while others keep getting every change", async () => {
    const stalled: Array<Socket> = []
    for (let i = 0; i < 200; i++) {
      const socket = connect({ host: "127.0.0.1", port: result.port })
      socket.on("error", () => {})
      socket.write("GET /api/results/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
      // Never read: once the socket buffers fill, the server's writes must wait, not pile up in memory.
      socket.pause()
      stalled.push(socket)
    }
    const reader = await watchResults(result.url)
    expect(await waitForOpenStreams(201)).toBe(201)
    const pid = result.child.pid as number
    const before = residentBytes(pid)

    const load = new LoadClient(() => vote.url, optionIds, 24, 20)
    load.start()
    await sleep(12_000)
    await load.stop()
    const after = residentBytes(pid)
    const sent = reader.state.events
    const eventBytes = JSON.stringify(reader.state.latest).length + 30

    for (const socket of stalled) socket.destroy()
    await reader.close()
    expect(await waitForOpenStreams(0)).toBe(0)
    console.log(
      `200 stalled streams: ${sent} events (${((sent * eventBytes) / 1024).toFixed(0)} KiB) went to the reading client meanwhile; result service memory ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB`
    )
    // The reading client was not held back by the stalled ones.
    expect(sent).toBeGreaterThan(20)
    // A stalled client costs the kernel's socket buffers and the latest results, not a backlog in
    // the process. (In a run this short the kernel could hold every event itself, so this bounds
    // per-client overhead; it cannot tell a backlog the kernel would have held anyway.)
    expect(after - before).toBeLessThan(96 * 2 ** 20)
  }, 120_000)
})
