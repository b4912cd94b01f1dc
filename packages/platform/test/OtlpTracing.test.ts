import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, Option, Tracer } from "effect"
import { otlpTracerLayer, sampledBy, sampling, traceIdSampled } from "../src/internal/OtlpTracing.ts"
import { spansDropped, spansExported } from "../src/Tracing.ts"
import type { Sampler, TracingSettings } from "../src/TracingConfig.ts"

const randomTraceId = () => Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("")

const spansOf =
  (tracer: Tracer.Tracer) =>
  (name: string, parent?: Tracer.AnySpan, links: Array<Tracer.AnySpan> = []) =>
    tracer.span({
      name,
      parent: Option.fromNullishOr(parent),
      annotations: undefined as never,
      links: links.map((span) => ({ span, attributes: {} })),
      startTime: 0n,
      kind: "internal",
      root: parent === undefined,
      sampled: true
    })

const native = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
const ratio = (share: number, parentBased = true): Sampler => ({ parentBased, root: "traceidratio", ratio: share })

describe("sampling", () => {
  it("keeps a share of trace ids, the same decision for the same id", () => {
    const ids = Array.from({ length: 20_000 }, randomTraceId)
    const kept = ids.filter((id) => traceIdSampled(id, 0.1)).length
    assert.isAbove(kept, 1600)
    assert.isBelow(kept, 2400)
    for (const id of ids.slice(0, 100)) assert.strictEqual(traceIdSampled(id, 0.1), traceIdSampled(id, 0.1))
    // A lower ratio keeps a subset of what a higher one keeps.
    for (const id of ids) if (traceIdSampled(id, 0.01)) assert.isTrue(traceIdSampled(id, 0.1))
    assert.isTrue(ids.every((id) => traceIdSampled(id, 1)))
    assert.isFalse(ids.some((id) => traceIdSampled(id, 0)))
  })

  it("follows the parent, or a linked span, when parent-based; decides roots by trace id", () => {
    const span = spansOf(sampling(native, ratio(0)))
    const root = span("root")
    assert.isFalse(root.sampled)
    assert.isFalse(span("child", root).sampled)
    const remote = Tracer.externalSpan({ traceId: randomTraceId(), spanId: "00f067aa0ba902b7", sampled: true })
    const continued = span("continued", remote)
    assert.isTrue(continued.sampled)
    assert.strictEqual(continued.traceId, remote.traceId)
    assert.isTrue(span("grandchild", continued).sampled)
    assert.isFalse(span("unsampled parent", { ...remote, sampled: false }).sampled)
    // A batch that holds one sampled vote is kept.
    assert.isTrue(span("batch", undefined, [root, remote]).sampled)
    assert.isFalse(span("batch", undefined, [root]).sampled)
    // Not parent-based: every span decides on its trace id, so children of a kept root are kept too.
    const always = spansOf(sampling(native, { parentBased: false, root: "always_off", ratio: 1 }))
    assert.isFalse(always("child of sampled", remote).sampled)
  })

  it("gives an unsampled span the ids its children and logs need", () => {
    const span = spansOf(sampling(native, ratio(0)))
    const root = span("root")
    assert.match(root.traceId, /^[0-9a-f]{32}$/)
    assert.match(root.spanId, /^[0-9a-f]{16}$/)
    assert.strictEqual(span("child", root).traceId, root.traceId)
    assert.isFalse(sampledBy(ratio(0), { parent: Option.none(), links: [] } as never, () => root.traceId))
  })
})

const counters = { dropped: spansDropped, exported: spansExported }
const counted = Effect.all({ dropped: Metric.value(spansDropped), exported: Metric.value(spansExported) })

/** A collector that holds every post until `release`, then answers 200. */
const stalledCollector = Effect.acquireRelease(
  Effect.promise(async () => {
    const held: Array<ServerResponse> = []
    let released = false
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      request.resume()
      request.on("end", () => (released ? response.writeHead(200).end() : held.push(response)))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const release = () => {
      released = true
      for (const response of held.splice(0)) response.writeHead(200).end()
    }
    return { server, release, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
  }),
  ({ server }) =>
    Effect.promise(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
    )
)

const settingsFor = (url: string): TracingSettings => ({
  tracesUrl: new URL(`${url}/v1/traces`),
  protocol: "http/json",
  serviceName: "test",
  resourceAttributes: {},
  sampler: { parentBased: true, root: "always_on", ratio: 1 }
})

describe("export to a collector that is behind", () => {
  it.live(
    "never makes a span wait: it holds a bounded number, drops the rest and counts every one",
    () =>
      Effect.gen(function* () {
        const collector = yield* stalledCollector
        const before = yield* counted
        const total = 30_000
        yield* Effect.gen(function* () {
          for (let i = 0; i < total; i++) {
            yield* Effect.void.pipe(Effect.withSpan(`span ${i}`))
            if (i % 500 === 0) yield* Effect.yieldNow
          }
          // Wait for Effect's exporter to hand everything over, then for the drop to be counted.
          for (;;) {
            const now = yield* counted
            if (now.dropped.count > before.dropped.count) break
            yield* Effect.sleep("50 millis")
          }
          const stalled = yield* counted
          // At most one post in flight and 8,192 waiting: well over half of 30,000 dropped.
          assert.isAbove(stalled.dropped.count - before.dropped.count, total - 8192 - 5000)
          assert.strictEqual(stalled.exported.count, before.exported.count)
          collector.release()
          // Once the collector answers, every span is accounted for: exported or dropped.
          for (;;) {
            const now = yield* counted
            const accounted = now.dropped.count - before.dropped.count + (now.exported.count - before.exported.count)
            if (accounted === total) break
            assert.isBelow(accounted, total + 1)
            yield* Effect.sleep("50 millis")
          }
        }).pipe(Effect.provide(otlpTracerLayer(settingsFor(collector.url), counters)))
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "counts the spans of a post the collector refuses as dropped",
    () =>
      Effect.gen(function* () {
        const before = yield* counted
        // A port that was just free and is closed again: the post is refused.
        const collector = yield* stalledCollector.pipe(Effect.scoped)
        yield* Effect.gen(function* () {
          for (let i = 0; i < 10; i++) yield* Effect.void.pipe(Effect.withSpan("refused"))
        }).pipe(Effect.provide(otlpTracerLayer(settingsFor(collector.url), counters)))
        // The layer's scope closed: its final flush was posted and refused.
        const after = yield* counted
        assert.strictEqual(after.dropped.count - before.dropped.count, 10)
      }),
    30_000
  )
})
