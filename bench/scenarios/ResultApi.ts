import type { BenchDatabase } from "../support/BenchEnv.ts"
import { type CpuShares, cpuMeter, describeShares, medianShares } from "../support/Cpu.ts"
import { type LoadResult, runLoad, startLoad } from "../support/LoadGenerator.ts"
import { peakResidentWhile } from "../support/Memory.ts"
import type { BenchProcess } from "../support/Services.ts"
import { type Spread, spread, waitUntil } from "../support/Stats.ts"

export interface ResultApiSettings {
  readonly runs: number
  readonly connections: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
}

export interface ResultApiFigures {
  readonly storedVotes: number
  readonly requestsPerSecond: Spread
  readonly latencyP50Ms: Spread
  readonly latencyP99Ms: Spread
  readonly errors: number
  /** Cores used during the runs (medians): the result service, the load generator, the whole machine. */
  readonly cores: CpuShares
}

export interface ResultApiResult {
  readonly connections: number
  readonly durationSeconds: number
  readonly small: ResultApiFigures
  readonly large: ResultApiFigures
  /** Requests/s with the large store as a fraction of the small one's, per run and overall. */
  readonly ratio: Spread
  readonly resultResidentPeakMb: number
}

/**
 * Stores `count` votes of made-up voters at once (the tally triggers count
 * them in the same statement) and wakes any result service listening.
 */
export const storeVotes = async (database: BenchDatabase, count: number) => {
  await database.sql.query("TRUNCATE votes, option_tallies")
  await database.sql.query(`
    INSERT INTO votes (voter_id, option_id, entry_ms, entry_seq, accepted_at)
    SELECT 'bench' || lpad(i::text, 17, '0'), CASE WHEN i % 3 = 0 THEN 'b' ELSE 'a' END, 0, i, now()
    FROM generate_series(1, ${count}) AS i`)
  await database.sql.query("ANALYZE votes")
  await database.sql.query("SELECT pg_notify('vote_results', '')")
}

/** Waits until a result service reports `total` votes. */
export const waitForTotal = (result: BenchProcess, total: number) =>
  waitUntil(
    `${result.name} to report ${total} votes`,
    async () => {
      const response = await fetch(`${result.url}/api/results`)
      const body = response.ok ? ((await response.json()) as { total: number }) : undefined
      return body?.total === total ? true : undefined
    },
    { timeoutMs: 30_000, everyMs: 100 }
  )

const figures = (
  storedVotes: number,
  runs: ReadonlyArray<LoadResult>,
  cores: ReadonlyArray<CpuShares>
): ResultApiFigures => ({
  storedVotes,
  requestsPerSecond: spread(
    runs.map((r) => r.requestsPerSecond),
    0
  ),
  latencyP50Ms: spread(runs.map((r) => r.latencyMs.p50)),
  latencyP99Ms: spread(runs.map((r) => r.latencyMs.p99)),
  errors: runs.reduce((sum, r) => sum + r.errors, 0),
  cores: medianShares(cores)
})

/**
 * `GET /api/results` throughput from two result services, one over a store
 * of 1,000 votes and one over 1,000,000, run in turn so background noise hits
 * both alike. The answer comes from memory, so the two should match.
 */
export const resultApi = async (
  small: { readonly service: BenchProcess; readonly votes: number },
  large: { readonly service: BenchProcess; readonly votes: number },
  settings: ResultApiSettings,
  log: (line: string) => void
): Promise<ResultApiResult> => {
  const load = (target: BenchProcess, durationSeconds: number) =>
    runLoad({ url: `${target.url}/api/results`, connections: settings.connections, durationSeconds })
  const measured = async (target: BenchProcess) => {
    const running = startLoad({
      url: `${target.url}/api/results`,
      connections: settings.connections,
      durationSeconds: settings.durationSeconds
    })
    const meter = cpuMeter({ result: target.pid })
    const result = await running.result
    // The load generator has exited by now: it reports its own CPU time.
    return { result, cores: { ...meter.read(), load: result.cores } }
  }
  await load(small.service, settings.warmupSeconds)
  await load(large.service, settings.warmupSeconds)
  const smallRuns: Array<LoadResult> = []
  const largeRuns: Array<LoadResult> = []
  const smallCores: Array<CpuShares> = []
  const largeCores: Array<CpuShares> = []
  let peak = 0
  for (let run = 1; run <= settings.runs; run++) {
    const smallRun = await measured(small.service)
    smallRuns.push(smallRun.result)
    smallCores.push(smallRun.cores)
    const { result: largeRun, peakMb } = await peakResidentWhile({ result: large.service.pid }, () =>
      measured(large.service)
    )
    peak = Math.max(peak, peakMb.result ?? 0)
    largeRuns.push(largeRun.result)
    largeCores.push(largeRun.cores)
    log(
      `  run ${run}: ${small.votes} stored ${smallRun.result.requestsPerSecond.toFixed(0)} req/s, ` +
        `${large.votes} stored ${largeRun.result.requestsPerSecond.toFixed(0)} req/s (p99 ${largeRun.result.latencyMs.p99} ms)\n` +
        `         cores used: ${describeShares(smallRun.cores)}; ${describeShares(largeRun.cores)}`
    )
  }
  return {
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    small: figures(small.votes, smallRuns, smallCores),
    large: figures(large.votes, largeRuns, largeCores),
    ratio: spread(
      largeRuns.map((r, i) => r.requestsPerSecond / smallRuns[i]!.requestsPerSecond),
      3
    ),
    resultResidentPeakMb: Math.round(peak)
  }
}
