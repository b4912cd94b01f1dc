import { Agent } from "node:http"
import { probeOption } from "../support/BenchEnv.ts"
import { openEventStream, votesFor } from "../support/EventStream.ts"
import { startLoad } from "../support/LoadGenerator.ts"
import type { BenchProcess } from "../support/Services.ts"
import { percentile, type Spread, sleep, spread } from "../support/Stats.ts"
import { castTimedVote } from "../support/TimedVote.ts"

export interface LiveLatencySettings {
  readonly runs: number
  readonly probesPerRun: number
  /** Votes per second of the steady background load. */
  readonly backgroundRate: number
}

export interface LiveLatencyResult {
  readonly backgroundRate: number
  readonly probesPerRun: number
  readonly p50Ms: Spread
  readonly p99Ms: Spread
  readonly maxMs: Spread
  readonly backgroundErrors: number
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/**
 * Vote to visible: under a steady background load (votes for the other
 * options), a probe votes for an option nothing else votes for, one at a
 * time, and waits for the first `results` event whose count for it includes
 * that vote. The latency is from the vote's 202 to that event arriving.
 */
export const liveLatency = async (
  vote: BenchProcess,
  result: BenchProcess,
  settings: LiveLatencySettings,
  log: (line: string) => void
): Promise<LiveLatencyResult> => {
  const p50: Array<number> = []
  const p99: Array<number> = []
  const max: Array<number> = []
  let backgroundErrors = 0
  for (let run = 1; run <= settings.runs; run++) {
    const stream = await openEventStream(`${result.url}/api/results/stream`)
    try {
      const first = await stream.waitFor(() => true)
      let expected = votesFor(first, probeOption)
      // Runs until the probes are done (stopped below); the duration is only a backstop.
      const background = startLoad({
        url: `${vote.url}/api/vote`,
        connections: 8,
        durationSeconds: 600,
        rate: settings.backgroundRate,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ vote: "b" })
      })
      const latencies: Array<number> = []
      try {
        await sleep(1_500)
        for (let probe = 0; probe < settings.probesPerRun; probe++) {
          const answeredAt = await castTimedVote(vote.url, probeOption, agent)
          expected += 1
          const target = expected
          const seen = await stream.waitFor((event) => votesFor(event, probeOption) >= target, 10_000)
          latencies.push(Math.max(0, seen.receivedAt - answeredAt))
          // A random gap, so probes land at every phase of the result feed's coalescing window.
          await sleep(Math.random() * 40)
        }
      } finally {
        background.stop()
      }
      const load = await background.result
      backgroundErrors += load.errors
      p50.push(percentile(latencies, 50))
      p99.push(percentile(latencies, 99))
      max.push(Math.max(...latencies))
      log(
        `  run ${run}: ${latencies.length} probes under ${load.requestsPerSecond.toFixed(0)} votes/s: ` +
          `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
          `max ${Math.max(...latencies).toFixed(1)} ms`
      )
    } finally {
      stream.close()
    }
  }
  agent.destroy()
  return {
    backgroundRate: settings.backgroundRate,
    probesPerRun: settings.probesPerRun,
    p50Ms: spread(p50, 1),
    p99Ms: spread(p99, 1),
    maxMs: spread(max, 1),
    backgroundErrors
  }
}
