import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { spawnCollecting, waitForOk } from "../../test/support/Processes.ts"
import { inheritedKeys } from "../../test/support/Standalone.ts"
import { pollOptions } from "../support/BenchEnv.ts"
import { type CpuShares, cpuMeter, describeShares, medianShares } from "../support/Cpu.ts"
import { type LoadResult, startLoad } from "../support/LoadGenerator.ts"
import { peakResidentWhile, residentMb } from "../support/Memory.ts"
import { type BenchProcess, freePort } from "../support/Services.ts"
import { type Spread, sleep, spread, waitUntil } from "../support/Stats.ts"

export interface StandaloneSettings {
  readonly runs: number
  readonly connections: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  /** Added to the process's environment (the bench's --profile and --node-options). */
  readonly env: Record<string, string>
}

export interface StandaloneResult {
  readonly connections: number
  readonly durationSeconds: number
  /** `npm start` is not among the production bundles (scripts/bundle.ts): it runs from its sources. */
  readonly runFrom: "sources"
  readonly requestsPerSecond: Spread
  readonly latencyP50Ms: Spread
  readonly latencyP99Ms: Spread
  readonly errors: number
  /** From the load's end until GET /api/results counts every vote answered 2xx, per run. */
  readonly countedSeconds: Spread
  /** Each run: the total grew by at least the 2xx answers and at most the votes sent. */
  readonly allCounted: boolean
  readonly counts: ReadonlyArray<{ readonly ok2xx: number; readonly counted: number; readonly sent: number }>
  readonly cores: CpuShares
  /** CPU time of the whole process (both pages, the worker, the database thread) per vote answered. */
  readonly cpuMicrosPerVote: Spread
  readonly residentIdleMb: number
  readonly residentPeakMb: number
}

/** Votes for the two load options in turn; no cookie, so every request is a new voter. */
const voteRequests = {
  method: "POST" as const,
  headers: { "content-type": "application/json" },
  bodies: [JSON.stringify({ vote: "a" }), JSON.stringify({ vote: "b" })]
}

interface StandaloneProcess extends BenchProcess {
  readonly resultUrl: string
}

/**
 * `npm start`'s process as `npm start` runs it (node on the standalone
 * entry, from the sources), with no Redis or PostgreSQL configured: the
 * in-process queue and the embedded store, in a data directory of its own.
 */
const startStandalone = async (dataDir: string, env: Record<string, string>): Promise<StandaloneProcess> => {
  const [votePort, resultPort] = [await freePort(), await freePort()]
  const inherited: NodeJS.ProcessEnv = { ...process.env }
  for (const key of inheritedKeys) delete inherited[key]
  const { child, output, exited } = spawnCollecting(
    process.execPath,
    ["--conditions=source", "services/standalone/src/main.ts"],
    {
      ...inherited,
      DATA_DIR: dataDir,
      VOTE_PORT: String(votePort),
      RESULT_PORT: String(resultPort),
      POLL_OPTIONS: pollOptions,
      // The load comes from one address at thousands of votes a second: the per-client limit is off.
      VOTE_RATE_LIMIT: "0",
      LOG_LEVEL: "warn",
      ...env
    }
  )
  const url = `http://127.0.0.1:${votePort}`
  const resultUrl = `http://127.0.0.1:${resultPort}`
  const stop = async () => {
    // Ctrl-C, as at the terminal: the worker counts what the queue still holds, the database closes.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT")
    await exited
  }
  try {
    // A fresh data directory means initdb first: tens of seconds on a busy machine.
    await waitForOk(`${url}/readyz`, 120_000, output)
    await waitForOk(`${resultUrl}/readyz`, 10_000, output)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    name: "standalone",
    url,
    resultUrl,
    pid: child.pid!,
    output,
    stop,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT")
  }
}

const countedTotal = async (standalone: StandaloneProcess) => {
  const response = await fetch(`${standalone.resultUrl}/api/results`)
  if (!response.ok) throw new Error(`GET /api/results answered ${response.status}`)
  return ((await response.json()) as { total: number }).total
}

/**
 * The count once it stops moving. Votes still in flight when a load stopped
 * (one a connection at most) may be counted after every 2xx one was: left
 * uncounted, they spilled into the next run's window and made it look as if
 * it had counted more votes than it sent.
 */
const settledTotal = async (standalone: StandaloneProcess) => {
  let last = await countedTotal(standalone)
  for (;;) {
    await sleep(300)
    const now = await countedTotal(standalone)
    if (now === last) return now
    last = now
  }
}

/**
 * `npm start` under the vote scenario's load: POST /api/vote over keep-alive
 * connections, two options in turn, every request a new voter. After each run
 * the clock goes on until the results count every vote answered 2xx.
 */
export const standaloneVotes = async (
  settings: StandaloneSettings,
  log: (line: string) => void,
  track: (process: BenchProcess) => void
): Promise<StandaloneResult> => {
  const dataDir = mkdtempSync(join(tmpdir(), "voting-bench-standalone-"))
  try {
    log(`  npm start from its sources (it has no production bundle), data in ${dataDir}`)
    const standalone = await startStandalone(dataDir, settings.env)
    track(standalone)
    try {
      await sleep(3_000)
      const residentIdleMb = Math.round(residentMb(standalone.pid) ?? 0)
      const load = (durationSeconds: number) =>
        startLoad({
          url: `${standalone.url}/api/vote`,
          connections: settings.connections,
          durationSeconds,
          ...voteRequests
        })

      log(`  warming up (${settings.warmupSeconds} s)`)
      const warmup = await load(settings.warmupSeconds).result
      await waitUntil("the warm-up votes to be counted", async () =>
        (await countedTotal(standalone)) >= warmup.ok ? true : undefined
      )
      let before = await settledTotal(standalone)

      const runs: Array<LoadResult> = []
      const countedSeconds: Array<number> = []
      const counts: Array<{ ok2xx: number; counted: number; sent: number }> = []
      const cores: Array<CpuShares> = []
      const cpuMicrosPerVote: Array<number> = []
      let peak = 0
      for (let run = 1; run <= settings.runs; run++) {
        const measured = await peakResidentWhile({ standalone: standalone.pid }, async () => {
          const running = load(settings.durationSeconds)
          const meter = cpuMeter({ standalone: standalone.pid })
          const result = await running.result
          const shares: CpuShares = { ...meter.read(), load: result.cores }
          return { result, cores: shares }
        })
        const ended = performance.now()
        const { result } = measured.result
        const counted = await waitUntil(
          `npm start to count the ${result.ok} votes answered 2xx`,
          async () => {
            const total = (await countedTotal(standalone)) - before
            return total >= result.ok ? total : undefined
          },
          { timeoutMs: 60_000, everyMs: 10 }
        )
        const seconds = (performance.now() - ended) / 1000
        const after = await settledTotal(standalone)
        runs.push(result)
        countedSeconds.push(seconds)
        counts.push({ ok2xx: result.ok, counted: after - before, sent: result.sent })
        before = after
        cores.push(measured.result.cores)
        const micros = ((measured.result.cores.standalone ?? 0) * result.durationSeconds * 1e6) / result.completed
        cpuMicrosPerVote.push(micros)
        peak = Math.max(peak, measured.peakMb.standalone ?? 0)
        log(
          `  run ${run}: ${result.requestsPerSecond.toFixed(0)} votes/s (p50 ${result.latencyMs.p50} ms, ` +
            `p99 ${result.latencyMs.p99} ms, errors ${result.errors}, ${result.ok} answered 2xx); ` +
            `all counted ${seconds.toFixed(2)} s after the load ended (${counted} then, ${counts.at(-1)?.counted} once settled)\n` +
            `         cores used: ${describeShares(measured.result.cores)}; npm start's CPU ${micros.toFixed(0)} µs a vote`
        )
      }
      return {
        connections: settings.connections,
        durationSeconds: settings.durationSeconds,
        runFrom: "sources",
        requestsPerSecond: spread(
          runs.map((r) => r.requestsPerSecond),
          0
        ),
        latencyP50Ms: spread(runs.map((r) => r.latencyMs.p50)),
        latencyP99Ms: spread(runs.map((r) => r.latencyMs.p99)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
        countedSeconds: spread(countedSeconds),
        // Votes in flight when the load stopped may be counted unanswered: never the other way round.
        allCounted: counts.every((c) => c.counted >= c.ok2xx && c.counted <= c.sent),
        counts,
        cores: medianShares(cores),
        cpuMicrosPerVote: spread(cpuMicrosPerVote, 0),
        residentIdleMb,
        residentPeakMb: Math.round(peak)
      }
    } finally {
      await standalone.stop()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
