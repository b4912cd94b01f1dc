import { randomBytes } from "node:crypto"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { redisUrl } from "../support/globalSetup.ts"
import { newVoterId } from "../support/LoadClient.ts"
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/OtlpReceiver.ts"
import { freePort, migrate, type RunningComponent, startComponent } from "../support/Processes.ts"
import { testDatabase } from "../support/TestDatabase.ts"
import { deleteKeys, testPrefix } from "../support/TestRedis.ts"

const hex = (bytes: number) => randomBytes(bytes).toString("hex")

/** What /metrics says a counter is, 0 when absent. */
const counter = async (component: RunningComponent, name: string) => {
  const text = await (await fetch(`${component.url}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

const vote = (component: RunningComponent, option: string, headers: Record<string, string> = {}) =>
  fetch(`${component.url}/api/vote`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: `voter_id=${newVoterId()}`, ...headers },
    body: JSON.stringify({ vote: option })
  })

const linksTo = (span: ReceivedSpan, target: ReceivedSpan) =>
  span.links.some((link) => link.traceId === target.traceId && link.spanId === target.spanId)

/**
 * One vote's trace across the three services as separate processes, each
 * exporting OTLP/JSON to a receiver in this test process: the vote's HTTP and
 * enqueue spans, the worker's batch span linked to the enqueue span through
 * the stream entry's `traceparent`, the store write under the batch, and the
 * result service's re-read linked to that commit through NOTIFY.
 */
describe("tracing: one vote through vote, worker and result", () => {
  const prefix = testPrefix()
  const scope = Effect.runSync(Scope.make())
  const components: Array<RunningComponent> = []
  let receiver: OtlpReceiver
  let redis: Redis
  let env: Record<string, string>
  let voteService: RunningComponent
  let resultService: RunningComponent
  let worker: RunningComponent | undefined

  const started = (component: RunningComponent) => {
    components.push(component)
    return component
  }

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    redis = new Redis(redisUrl)
    const database = await Effect.runPromise(Scope.provide(testDatabase, scope))
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      POLL_OPTIONS: "a=Cats,b=Dogs",
      VOTE_RATE_LIMIT: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,team=voting%20app"
    }
    await migrate(env)
    const [votePort, resultPort] = await Promise.all([freePort(), freePort()])
    ;[voteService, resultService] = await Promise.all([
      startComponent("vote", { port: votePort, env: { ...env, LOG_LEVEL: "debug" }, via: "node" }).then(started),
      startComponent("result", { port: resultPort, env, via: "node" }).then(started)
    ])
  }, 90_000)

  afterAll(async () => {
    await Promise.all(components.map((component) => component.stop("SIGTERM")))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Effect.runPromise(deleteKeys(prefix))
    redis?.disconnect()
    await receiver?.close()
  }, 30_000)

  it("connects the vote's spans from the three processes, the context riding in the stream entry", async () => {
    // The caller's own trace: the vote service continues it, so its id is known here.
    const traceId = hex(16)
    const answer = await vote(voteService, "a", { traceparent: `00-${traceId}-${hex(8)}-01` })
    expect(answer.status).toBe(202)

    // The worker is not running yet: the entry waits on the stream with the enqueue span's context.
    const entries = (await redis.xrange(`${prefix}votes`, "-", "+")) as Array<[string, Array<string>]>
    expect(entries).toHaveLength(1)
    const [entryId, fields] = entries[0] as [string, Array<string>]
    const entry = Object.fromEntries(fields.flatMap((_, i) => (i % 2 === 0 ? [[fields[i], fields[i + 1]]] : [])))
    expect(entry.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))

    worker = started(await startComponent("worker", { port: await freePort(), env, via: "node" }))

    const find = (spans: ReadonlyArray<ReceivedSpan>) => {
      const http = spans.find((s) => s.service === "vote" && s.name === "POST /api/vote" && s.traceId === traceId)
      const enqueue = spans.find((s) => s.name === "VoteQueue.enqueue" && s.traceId === traceId)
      const batch = enqueue && spans.find((s) => s.name === "VoteWorker.processBatch" && linksTo(s, enqueue))
      const record = batch && spans.find((s) => s.name === "VoteStore.record" && s.parentSpanId === batch.spanId)
      const refresh = record && spans.find((s) => s.name === "ResultsFeed.refresh" && linksTo(s, record))
      return { http, enqueue, batch, record, refresh }
    }
    const spans = find(await receiver.waitFor((all) => find(all).refresh !== undefined))
    const { http, enqueue, batch, record, refresh } = spans as { [K in keyof typeof spans]: ReceivedSpan }

    // Vote: the server span continues the caller's trace; the enqueue span is its child and is what the entry names.
    expect(http.kind).toBe(2)
    expect(http.attributes["http.response.status_code"]).toBe(202)
    expect(enqueue.service).toBe("vote")
    expect(enqueue.parentSpanId).toBe(http.spanId)
    expect(enqueue.kind).toBe(4)
    expect(entry.traceparent).toBe(`00-${traceId}-${enqueue.spanId}-01`)
    // Worker: a batch span of its own, linked to the vote; the store write inside it.
    expect(batch.service).toBe("worker")
    expect(batch.kind).toBe(5)
    expect(batch.links.find((l) => l.spanId === enqueue.spanId)?.traceId).toBe(traceId)
    expect(record.service).toBe("worker")
    expect(record.traceId).toBe(batch.traceId)
    // Result: the re-read and push, linked to the commit that caused it.
    expect(refresh.service).toBe("result")
    expect(entryId).toMatch(/^\d+-\d+$/)

    // The vote service's debug line for the vote carries its trace id and span.
    const logged = voteService
      .output()
      .split("\n")
      .filter((line) => line.includes('"vote queued"'))
      .map((line) => JSON.parse(line) as { trace_id?: string; span_id?: string })
    expect(logged).toContainEqual(expect.objectContaining({ trace_id: traceId, span_id: enqueue.spanId }))
  })

  it("sends the resource attributes and each component's service name", () => {
    const services = new Set(receiver.spans().map((span) => span.service))
    expect(services).toEqual(new Set(["vote", "worker", "result"]))
  })

  it("records a vote whose entry has a malformed or no traceparent, in a fresh trace, never dead-lettered", async () => {
    const stream = `${prefix}votes`
    const before = await fetch(`${resultService.url}/api/results`).then((r) => r.json() as Promise<{ total: number }>)
    const at = new Date().toISOString()
    await redis.xadd(stream, "*", "voter", newVoterId(), "option", "b", "at", at, "traceparent", "not-a-traceparent")
    await redis.xadd(
      stream,
      "*",
      "voter",
      newVoterId(),
      "option",
      "b",
      "at",
      at,
      "traceparent",
      `00-${"0".repeat(32)}-${hex(8)}-01`
    )
    await redis.xadd(stream, "*", "voter", newVoterId(), "option", "b", "at", at)
    // Counted by the worker (the results go up by three) ...
    for (;;) {
      const now = await fetch(`${resultService.url}/api/results`).then((r) => r.json() as Promise<{ total: number }>)
      if (now.total >= before.total + 3) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    // ... and nothing dead-lettered.
    expect(await redis.xlen(`${prefix}votes:dead`)).toBe(0)
    expect(await counter(worker as RunningComponent, "worker_dead_letters_total")).toBe(0)
  })

  it("keeps accepting votes with the collector down, counting the spans it drops", async () => {
    await receiver.close()
    const before = await counter(voteService, "tracing_spans_dropped_total")
    const answers = await Promise.all(Array.from({ length: 200 }, () => vote(voteService, "a")))
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202))
    // The exporter posts within a second; each failed post adds its spans to the counter.
    for (;;) {
      if ((await counter(voteService, "tracing_spans_dropped_total")) >= before + 400) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    expect(await counter(voteService, "tracing_spans_dropped_total")).toBeGreaterThanOrEqual(before + 400)
  })
})
