import type { BenchEnv } from "../support/BenchEnv.ts"
import { type CpuShares, cpuMeter, describeShares, medianShares } from "../support/Cpu.ts"
import { type LoadOptions, type LoadResult, type RunningLoad, startLoad } from "../support/LoadGenerator.ts"
import { peakResidentWhile } from "../support/Memory.ts"
import type { BenchProcess } from "../support/Services.ts"
import { type Spread, spread } from "../support/Stats.ts"
import { startWrk, wrkAvailable } from "../support/Wrk.ts"

export interface VoteThroughputSettings {
  readonly runs: number
  readonly connections: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
}

export interface VoteThroughputResult {
  /** What sent the load: wrk when it is installed, else autocannon. */
  readonly loadGenerator: "wrk" | "autocannon"
  readonly connections: number
  readonly durationSeconds: number
  readonly vote: {
    readonly requestsPerSecond: Spread
    readonly latencyP50Ms: Spread
    readonly latencyP99Ms: Spread
    readonly errors: number
    /** Each run: every 2xx vote is on the queue (the stream's length is at least the 2xx count). */
    readonly allOnQueue: boolean
    readonly queueChecks: ReadonlyArray<{ readonly ok2xx: number; readonly onQueue: number; readonly sent: number }>
  }
  readonly bare: {
    readonly requestsPerSecond: Spread
    readonly latencyP50Ms: Spread
    readonly latencyP99Ms: Spread
    readonly errors: number
  }
  /** The vote service's requests/s as a fraction of the bare server's, per run and overall. */
  readonly ratio: Spread
  /** Cores used during the runs (medians): the server, the load generator, Redis and the whole machine. */
  readonly cores: { readonly vote: CpuShares; readonly bare: CpuShares }
  /**
   * CPU time per answered request (µs, medians over the runs) of each server and of the load generator:
   * what a request costs, which other work on the machine changes far less than the rates.
   */
  readonly cpuMicrosPerRequest: { readonly vote: CpuShares; readonly bare: CpuShares }
  readonly voteResidentPeakMb: number
}

/** A vote as a load generator sends it: no cookie, so each request is a new voter. */
const voteRequest = {
  method: "POST" as const,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ vote: "a" })
}

/**
 * The load generator: wrk (Debian's package) when it is installed, else
 * autocannon. wrk costs about 18 µs of CPU per request here against about 90
 * for autocannon (CPU time per request of each, same servers, 64
 * connections, Node 26), and the two servers and the load generator share two
 * cores: under autocannon the bare server's figure was the load generator's
 * limit (autocannon at a whole core, the bare server at half of one), which
 * made the ratio say little about the vote service.
 */
const loadGenerator = (): { readonly name: "wrk" | "autocannon"; readonly start: (o: LoadOptions) => RunningLoad } =>
  wrkAvailable() ? { name: "wrk", start: startWrk } : { name: "autocannon", start: startLoad }

/** CPU µs per answered request from a run's cores (1 = a core) and its rate. */
const microsPerRequest = (cores: CpuShares, requestsPerSecond: number): CpuShares =>
  Object.fromEntries(
    Object.entries(cores)
      .filter(([name]) => name !== "machine")
      .map(([name, share]) => [name, Math.round((share * 1e7) / requestsPerSecond) / 10])
  )

/**
 * Vote throughput over keep-alive connections, against the vote service and
 * the bare `node:http` server in turn (alternating, so drifting background
 * load hits both alike). No worker runs, so the stream keeps every vote and
 * its length after a run is checked against the 2xx count.
 */
export const voteThroughput = async (
  env: BenchEnv,
  vote: BenchProcess,
  bare: BenchProcess,
  settings: VoteThroughputSettings,
  log: (line: string) => void
): Promise<VoteThroughputResult> => {
  const streamKey = `${env.prefix}votes`
  const generator = loadGenerator()
  const load = (target: BenchProcess, durationSeconds: number) =>
    generator.start({
      url: `${target.url}/api/vote`,
      connections: settings.connections,
      durationSeconds,
      ...voteRequest
    }).result
  const measured = async (target: BenchProcess) => {
    const running = generator.start({
      url: `${target.url}/api/vote`,
      connections: settings.connections,
      durationSeconds: settings.durationSeconds,
      ...voteRequest
    })
    const meter = cpuMeter({ [target.name]: target.pid, redis: env.redisPid })
    const result = await running.result
    // The load generator has exited by now: it reports its own CPU time.
    return { result, cores: { ...meter.read(), load: result.cores } }
  }

  log(
    `  load from ${generator.name}${generator.name === "wrk" ? "" : " (wrk is not installed: apt-get install wrk)"}; ` +
      `warming up both servers (${settings.warmupSeconds} s each)`
  )
  await load(bare, settings.warmupSeconds)
  await load(vote, settings.warmupSeconds)

  const voteRuns: Array<LoadResult> = []
  const bareRuns: Array<LoadResult> = []
  const queueChecks: Array<{ ok2xx: number; onQueue: number; sent: number }> = []
  const voteCores: Array<CpuShares> = []
  const bareCores: Array<CpuShares> = []
  const voteMicros: Array<CpuShares> = []
  const bareMicros: Array<CpuShares> = []
  let votePeak = 0
  for (let run = 1; run <= settings.runs; run++) {
    const bareRun = await measured(bare)
    bareRuns.push(bareRun.result)
    bareCores.push(bareRun.cores)
    bareMicros.push(microsPerRequest(bareRun.cores, bareRun.result.requestsPerSecond))
    await env.redis.del(streamKey)
    const { result: measuredVote, peakMb } = await peakResidentWhile({ vote: vote.pid }, () => measured(vote))
    const voteRun = measuredVote.result
    votePeak = Math.max(votePeak, peakMb.vote ?? 0)
    voteRuns.push(voteRun)
    voteCores.push(measuredVote.cores)
    voteMicros.push(microsPerRequest(measuredVote.cores, voteRun.requestsPerSecond))
    const onQueue = await env.redis.xlen(streamKey)
    queueChecks.push({ ok2xx: voteRun.ok, onQueue, sent: voteRun.sent })
    log(
      `  run ${run}: bare ${bareRun.result.requestsPerSecond.toFixed(0)} req/s, vote ${voteRun.requestsPerSecond.toFixed(0)} req/s ` +
        `(p50 ${voteRun.latencyMs.p50} ms, p99 ${voteRun.latencyMs.p99} ms, errors ${voteRun.errors}, ` +
        `${voteRun.ok} answered 2xx, ${onQueue} on the queue)\n` +
        `         cores used: bare run ${describeShares(bareRun.cores)}; vote run ${describeShares(measuredVote.cores)}\n` +
        `         CPU µs per request: bare run ${describeShares(bareMicros.at(-1)!, 1)}; vote run ${describeShares(voteMicros.at(-1)!, 1)}`
    )
  }
  await env.redis.del(streamKey)

  return {
    loadGenerator: generator.name,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
    vote: {
      requestsPerSecond: spread(
        voteRuns.map((r) => r.requestsPerSecond),
        0
      ),
      latencyP50Ms: spread(voteRuns.map((r) => r.latencyMs.p50)),
      latencyP99Ms: spread(voteRuns.map((r) => r.latencyMs.p99)),
      errors: voteRuns.reduce((sum, r) => sum + r.errors, 0),
      // Votes still in flight when the load stopped may be queued and never answered: never the other way round.
      allOnQueue: queueChecks.every((check) => check.onQueue >= check.ok2xx && check.onQueue <= check.sent),
      queueChecks
    },
    bare: {
      requestsPerSecond: spread(
        bareRuns.map((r) => r.requestsPerSecond),
        0
      ),
      latencyP50Ms: spread(bareRuns.map((r) => r.latencyMs.p50)),
      latencyP99Ms: spread(bareRuns.map((r) => r.latencyMs.p99)),
      errors: bareRuns.reduce((sum, r) => sum + r.errors, 0)
    },
    ratio: spread(
      voteRuns.map((r, i) => r.requestsPerSecond / bareRuns[i]!.requestsPerSecond),
      3
    ),
    cores: { vote: medianShares(voteCores), bare: medianShares(bareCores) },
    cpuMicrosPerRequest: { vote: medianShares(voteMicros, 1), bare: medianShares(bareMicros, 1) },
    voteResidentPeakMb: Math.round(votePeak)
  }
}
