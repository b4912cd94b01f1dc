import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type BenchEnv, clearVotes, tallyTotal } from "../support/BenchEnv.ts"
import { cpuMeter, describeShares } from "../support/Cpu.ts"
import { type BenchProcess, startService } from "../support/Services.ts"
import { type Spread, waitUntil } from "../support/Stats.ts"
import { type VoteThroughputSettings, voteThroughput } from "./VoteThroughput.ts"

export interface TracingModeResult {
  readonly mode: string
  readonly votesPerSecond: Spread
  /** The vote service's requests/s over the bare server's, run by run. */
  readonly ratio: Spread
  /** CPU time of the vote process per answered vote (median run), microseconds. */
  readonly cpuMicrosPerVote: number
  readonly spansExported: number
  readonly spansDropped: number
}

export interface LinkedDrainResult {
  readonly mode: string
  readonly votesPerSecond: number
  readonly cpuMicrosPerVote: number
  readonly spansExported: number
}

export interface TracingCostResult {
  readonly modes: ReadonlyArray<TracingModeResult>
  /** 100,000 votes that each carry a sampled traceparent, drained by a worker with tracing off and on. */
  readonly drain: ReadonlyArray<LinkedDrainResult>
}

/** An OTLP/HTTP receiver that reads each post and answers 200: a collector that costs nothing. */
const startSink = async () => {
  let posts = 0
  const server = createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      posts += 1
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts: () => posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const counterOf = async (service: BenchProcess, name: string) => {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

/** Puts `count` votes on the stream, each with a sampled traceparent of its own trace. */
const preloadTracedVotes = async (env: BenchEnv, count: number) => {
  const streamKey = `${env.prefix}votes`
  await env.redis.xgroup("CREATE", streamKey, "workers", "0", "MKSTREAM").catch((error: Error) => {
    if (!error.message.startsWith("BUSYGROUP")) throw error
  })
  const at = new Date().toISOString()
  for (let start = 0; start < count; start += 5_000) {
    const pipeline = env.redis.pipeline()
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`
      pipeline.xadd(
        streamKey,
        "*",
        "voter",
        randomBytes(16).toString("base64url"),
        "option",
        "a",
        "at",
        at,
        "traceparent",
        traceparent
      )
    }
    await pipeline.exec()
  }
}

/**
 * What tracing costs the vote path: the vote throughput (against the bare
 * server, as the vote scenario measures it) with tracing off, and on at a
 * sample ratio of 1.0 and of 0.01, each on a vote service of its own exporting
 * OTLP/protobuf to a sink in this process. Then what the batch span's links
 * cost the worker: 100,000 traced votes drained with tracing off and on.
 */
export const tracingCost = async (
  env: BenchEnv,
  bare: BenchProcess,
  settings: VoteThroughputSettings & { readonly drainVotes: number },
  log: (line: string) => void
): Promise<TracingCostResult> => {
  const sink = await startSink()
  const tracingEnv = (ratio: string): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: ratio
  })
  const modes: Array<TracingModeResult> = []
  try {
    for (const [mode, extra] of [
      ["off", {}],
      ["on, ratio 1.0", tracingEnv("1.0")],
      ["on, ratio 0.01", tracingEnv("0.01")]
    ] as const) {
      log(`  tracing ${mode}`)
      const label = `vote-tracing-${modes.length}`
      const vote = await startService("vote", { ...env.serviceEnv(env.main), ...extra }, label)
      try {
        const measured = await voteThroughput(env, vote, bare, settings, (line) => log(`  ${line}`))
        const rps = measured.vote.requestsPerSecond.median
        const cores = measured.cores.vote[label] ?? 0
        modes.push({
          mode,
          votesPerSecond: measured.vote.requestsPerSecond,
          ratio: measured.ratio,
          cpuMicrosPerVote: Math.round((cores / rps) * 1e6),
          spansExported: await counterOf(vote, "tracing_spans_exported_total"),
          spansDropped: await counterOf(vote, "tracing_spans_dropped_total")
        })
      } finally {
        await vote.stop()
      }
    }

    const drain: Array<LinkedDrainResult> = []
    for (const [mode, extra] of [
      ["off", {}],
      ["on, ratio 1.0", tracingEnv("1.0")]
    ] as const) {
      await clearVotes(env.main)
      const worker = await startService("worker", { ...env.serviceEnv(env.main), ...extra }, "worker-tracing")
      try {
        worker.pause()
        try {
          await preloadTracedVotes(env, settings.drainVotes)
        } finally {
          worker.resume()
        }
        const started = performance.now()
        const meter = cpuMeter({ worker: worker.pid, redis: env.redisPid })
        await waitUntil(
          "the traced votes stored",
          async () => ((await tallyTotal(env.main)) >= settings.drainVotes ? true : undefined),
          { timeoutMs: 180_000, everyMs: 10 }
        )
        const seconds = (performance.now() - started) / 1000
        const shares = meter.read()
        const result = {
          mode,
          votesPerSecond: Math.round(settings.drainVotes / seconds),
          cpuMicrosPerVote: Math.round((((shares.worker ?? 0) * seconds) / settings.drainVotes) * 1e6),
          spansExported: await counterOf(worker, "tracing_spans_exported_total")
        }
        drain.push(result)
        log(
          `  worker drain of ${settings.drainVotes} traced votes, tracing ${mode}: ${result.votesPerSecond} votes/s, ` +
            `${result.cpuMicrosPerVote} µs of worker CPU a vote; cores used: ${describeShares(shares)}`
        )
      } finally {
        await worker.stop()
      }
    }
    await clearVotes(env.main)
    log(`  the sink took ${sink.posts()} posts`)
    return { modes, drain }
  } finally {
    await sink.close()
  }
}
