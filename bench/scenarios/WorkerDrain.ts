import { randomBytes } from "node:crypto"
import { type BenchEnv, clearVotes, rowCount, tallyTotal } from "../support/BenchEnv.ts"
import { type CpuShares, cpuMeter, describeShares, medianShares, postgresPids } from "../support/Cpu.ts"
import { peakResidentWhile } from "../support/Memory.ts"
import { type BenchProcess, startService } from "../support/Services.ts"
import { type Spread, spread, waitUntil } from "../support/Stats.ts"

export interface WorkerDrainSettings {
  readonly runs: number
  readonly votes: number
  readonly workerCounts: ReadonlyArray<number>
}

export interface WorkerDrainResult {
  readonly votes: number
  readonly byWorkers: ReadonlyArray<{
    readonly workers: number
    readonly votesPerSecond: Spread
    readonly seconds: Spread
    /** Each run ended with as many rows as votes, tallies equal to the rows and an empty stream. */
    readonly consistent: boolean
    /** Cores used while draining (medians): each worker, Redis and the whole machine. */
    readonly cores: CpuShares
  }>
  readonly workerResidentPeakMb: number
}

const consumerGroup = "workers"

/** Puts `count` votes of distinct new voters straight onto the stream, in pipelined batches. */
export const preloadVotes = async (env: BenchEnv, count: number) => {
  const streamKey = `${env.prefix}votes`
  await env.redis.xgroup("CREATE", streamKey, consumerGroup, "0", "MKSTREAM").catch((error: Error) => {
    if (!error.message.startsWith("BUSYGROUP")) throw error
  })
  const at = new Date().toISOString()
  const batch = 5_000
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start)
    const ids = randomBytes(16 * size)
    const pipeline = env.redis.pipeline()
    for (let i = 0; i < size; i++) {
      const voter = ids.subarray(i * 16, i * 16 + 16).toString("base64url")
      pipeline.xadd(streamKey, "*", "voter", voter, "option", (start + i) % 3 === 0 ? "b" : "a", "at", at)
    }
    const replies = await pipeline.exec()
    const failed = replies?.find(([error]) => error !== null)
    if (failed) throw failed[0]
  }
}

/**
 * Worker drain: the workers are paused (SIGSTOP) while 100,000 votes are put
 * on the queue, then resumed together; the clock runs from the resume to the
 * moment the store holds them all. Paused rather than started afterwards, so
 * the figure is the drain, not Node's start-up. Each worker count drains
 * once first to warm up, not counted.
 */
export const workerDrain = async (
  env: BenchEnv,
  settings: WorkerDrainSettings,
  log: (line: string) => void
): Promise<{ result: WorkerDrainResult; workers: Array<BenchProcess> }> => {
  const streamKey = `${env.prefix}votes`
  const workers: Array<BenchProcess> = []
  const byWorkers: Array<WorkerDrainResult["byWorkers"][number]> = []
  let peak = 0
  for (const count of settings.workerCounts) {
    while (workers.length < count) {
      workers.push(await startService("worker", env.serviceEnv(env.main), `worker-${workers.length + 1}`))
    }
    const seconds: Array<number> = []
    const cores: Array<CpuShares> = []
    let consistent = true
    // Run 0 warms up: the workers' JIT (a new worker drains its first batches at half speed) and
    // PostgreSQL's caches. It is logged, not counted, so every counted run compares warm with warm.
    for (let run = 0; run <= settings.runs; run++) {
      await clearVotes(env.main)
      for (const worker of workers) worker.pause()
      try {
        await preloadVotes(env, settings.votes)
      } finally {
        for (const worker of workers) worker.resume()
      }
      const started = performance.now()
      const pids = Object.fromEntries(workers.map((worker) => [worker.name, worker.pid]))
      const meter = cpuMeter({ ...pids, redis: env.redisPid, postgres: postgresPids() })
      const { result: finished, peakMb } = await peakResidentWhile(pids, () =>
        waitUntil(
          `${settings.votes} votes stored`,
          async () => ((await tallyTotal(env.main)) >= settings.votes ? performance.now() : undefined),
          { timeoutMs: 180_000, everyMs: 10 }
        )
      )
      const shares = meter.read()
      peak = Math.max(peak, ...Object.values(peakMb))
      const elapsed = (finished - started) / 1000
      // CPU each vote cost the workers together: what bounds one worker's rate once nothing waits.
      const workerShare = workers.reduce((sum, worker) => sum + (shares[worker.name] ?? 0), 0)
      const workerMicrosPerVote = ((workerShare * elapsed) / settings.votes) * 1e6
      // Acknowledgements follow the commit: give the last batch's a moment, then check everything adds up.
      const drained = await waitUntil(
        "the stream to empty",
        async () => ((await env.redis.xlen(streamKey)) === 0 ? true : undefined),
        { timeoutMs: 10_000 }
      ).catch(() => false)
      const rows = await rowCount(env.main)
      const tallies = await tallyTotal(env.main)
      const ok = drained && rows === settings.votes && tallies === rows
      consistent &&= ok
      if (run === 0) {
        log(`  ${count} worker(s), warm-up: ${(settings.votes / elapsed).toFixed(0)} votes/s, not counted`)
        continue
      }
      cores.push(shares)
      seconds.push(elapsed)
      log(
        `  ${count} worker(s), run ${run}: ${settings.votes} votes in ${elapsed.toFixed(2)} s = ` +
          `${(settings.votes / elapsed).toFixed(0)} votes/s${ok ? "" : ` (INCONSISTENT: rows ${rows}, tallies ${tallies}, stream empty ${drained})`}` +
          `; cores used: ${describeShares(shares)}; worker CPU ${workerMicrosPerVote.toFixed(1)} µs a vote`
      )
    }
    byWorkers.push({
      workers: count,
      votesPerSecond: spread(
        seconds.map((s) => settings.votes / s),
        0
      ),
      seconds: spread(seconds),
      consistent,
      cores: medianShares(cores)
    })
  }
  await clearVotes(env.main)
  return { result: { votes: settings.votes, byWorkers, workerResidentPeakMb: Math.round(peak) }, workers }
}
