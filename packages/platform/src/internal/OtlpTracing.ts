/**
 * What Tracing.ts loads only when an endpoint is set: Effect's OtlpTracer
 * behind a sampler, posting through a bounded transport that never makes a
 * caller wait and counts every span it cannot deliver.
 */
// Every module by its own path, never through a barrel ("effect", "effect/http"), and nothing of
// this package at run time: the bundler wraps a dynamically imported module for lazy loading, and a
// barrel reached from it would come whole into every bundle, 350 KB more to parse at start.
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as HttpBody from "effect/http/HttpBody"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as OtlpExporter from "effect/observability/OtlpExporter"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"
import * as Tracer from "effect/Tracer"
import type { Sampler, TracingSettings } from "../TracingConfig.ts"

/** The counters the transport adds to (Tracing.ts owns them, so they exist with tracing off too). */
export interface ExportCounters {
  readonly dropped: Metric.Counter<number>
  readonly exported: Metric.Counter<number>
}

/**
 * Spans Effect's exporter gathers before it posts them, and how often it posts
 * the rest: a batch span with its links is one span, so at a thousand votes a
 * second a post carries about a second's spans.
 */
const maxBatchSize = 1000
const exportInterval = "1 second"
/** Spans waiting for the collector beyond the batch being posted; past this a new batch is dropped. */
export const maxQueuedSpans = 8192
/** The longest one post may take (the spec's default OTEL_EXPORTER_OTLP_TIMEOUT is 10 s). */
const postTimeoutMs = 10_000
/** How long shutdown waits for queued spans to reach the collector. */
const shutdownDrainMs = 2_000

/** What a tracer is asked to create. */
type SpanOptions = Parameters<Tracer.Tracer["span"]>[0]

/**
 * A share `ratio` of trace ids, decided on the id alone so every process that
 * sees the trace decides alike: its lower 56 bits (random by the W3C
 * Trace Context level 2) against `ratio` of their range.
 */
export const traceIdSampled = (traceId: string, ratio: number): boolean => {
  if (ratio >= 1) return true
  if (ratio <= 0) return false
  return Number.parseInt(traceId.slice(-14), 16) < ratio * 2 ** 56
}

/** Whether a span is kept: with a parent (or, for a batch or a re-read, a linked span) as that one is, if parent-based. */
export const sampledBy = (sampler: Sampler, options: SpanOptions, traceId: () => string): boolean => {
  if (sampler.parentBased) {
    if (Option.isSome(options.parent)) return options.parent.value.sampled
    if (options.links.length > 0) return options.links.some((link) => link.span.sampled)
  }
  switch (sampler.root) {
    case "always_on":
      return true
    case "always_off":
      return false
    case "traceidratio":
      return traceIdSampled(traceId(), sampler.ratio)
  }
}

const randomHex = (length: number) => {
  let hex = ""
  while (hex.length < length) hex += Math.random().toString(16).slice(2, 10).padStart(8, "0")
  return hex.slice(0, length)
}

/**
 * A span that is not exported: it carries ids (its trace's, for children that
 * decide on the trace id) and records nothing.
 */
class UnsampledSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly sampled = false
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus
  #traceId: string | undefined
  #spanId: string | undefined
  readonly name: string
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly annotations: Context.Context<never>
  readonly links: Array<Tracer.SpanLink>
  readonly kind: Tracer.SpanKind
  constructor(options: SpanOptions, traceId: string | undefined) {
    this.name = options.name
    this.parent = options.parent
    this.annotations = options.annotations
    this.links = options.links
    this.kind = options.kind
    this.status = { _tag: "Started", startTime: options.startTime }
    this.#traceId = traceId
  }
  get traceId() {
    this.#traceId ??= Option.isSome(this.parent) ? this.parent.value.traceId : randomHex(32)
    return this.#traceId
  }
  get spanId() {
    this.#spanId ??= randomHex(16)
    return this.#spanId
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Started") this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute() {}
  event() {}
  addLinks() {}
}

/** `inner`, creating only the spans `sampler` keeps; the rest are UnsampledSpans it never sees end. */
export const sampling = (inner: Tracer.Tracer, sampler: Sampler): Tracer.Tracer =>
  Tracer.make({
    ...inner,
    span(options) {
      let created: Tracer.Span | undefined
      const traceId = () => {
        created ??= inner.span({ ...options, sampled: true })
        return created.traceId
      }
      if (!sampledBy(sampler, options, traceId)) {
        return new UnsampledSpan(options, created?.traceId)
      }
      return created ?? inner.span({ ...options, sampled: true })
    }
  })

interface QueuedPost {
  readonly body: HttpBody.Uint8Array
  readonly spans: number
}

/**
 * The transport under Effect's exporter. Its `execute` answers at once (a
 * 200 the exporter takes as sent) and queues the post; one post is on the wire
 * at a time, bounded by `postTimeoutMs`. Past `maxQueuedSpans` waiting, a new
 * batch is dropped; a post the collector refuses or never answers is dropped
 * too; either way its spans are counted in tracing_spans_dropped_total. So an
 * unreachable collector costs the exporter's fiber nothing, holds at most
 * `maxQueuedSpans` spans, and never turns the exporter off for a minute (what
 * Effect's exporter does after a failed post, dropping uncounted meanwhile).
 */
const boundedTransport = ({ dropped: spansDropped, exported: spansExported }: ExportCounters) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const queue: Array<QueuedPost> = []
    let queuedSpans = 0
    let posting: Promise<void> | undefined
    const dropped = (spans: number) => spansDropped.updateUnsafe(spans, context)
    const spanCounts = new WeakMap<HttpBody.HttpBody, number>()

    const post = async (url: string, { body, spans }: QueuedPost) => {
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": body.contentType },
          body: body.body as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(postTimeoutMs)
        })
        await response.arrayBuffer()
        if (response.ok) spansExported.updateUnsafe(spans, context)
        else dropped(spans)
      } catch {
        dropped(spans)
      }
    }

    const drain = async (url: string) => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        queuedSpans -= next.spans
        await post(url, next)
      }
      posting = undefined
    }

    const client = HttpClient.make((request, url) =>
      Effect.sync(() => {
        const body = request.body
        if (body._tag === "Uint8Array") {
          const spans = spanCounts.get(body) ?? 0
          if (queuedSpans + spans > maxQueuedSpans) dropped(spans)
          else {
            queue.push({ body, spans })
            queuedSpans += spans
            posting ??= drain(url.href)
          }
        }
        return HttpClientResponse.fromWeb(request, new Response(null, { status: 200 }))
      })
    )

    yield* Effect.addFinalizer(() =>
      Effect.promise(() =>
        posting === undefined
          ? Promise.resolve()
          : Promise.race([posting, new Promise<void>((resolve) => setTimeout(resolve, shutdownDrainMs).unref())])
      )
    )

    /** Effect's serialization, noting how many spans each body holds for the counters. */
    const counting = (
      serialization: OtlpSerialization.OtlpSerialization["Service"]
    ): OtlpSerialization.OtlpSerialization["Service"] => ({
      ...serialization,
      traces: (data) => {
        const body = serialization.traces(data)
        let spans = 0
        for (const resource of data.resourceSpans) for (const scope of resource.scopeSpans) spans += scope.spans.length
        spanCounts.set(body, spans)
        return body
      }
    })
    return { client, counting }
  })

/** Effect's OtlpTracer to `settings.tracesUrl`, sampled by `settings.sampler`, over the bounded transport. */
export const otlpTracerLayer = (settings: TracingSettings, counters: ExportCounters) =>
  Layer.effect(
    Tracer.Tracer,
    Effect.gen(function* () {
      const transport = yield* boundedTransport(counters)
      const base = Context.get(
        yield* Layer.build(
          settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf
        ),
        OtlpSerialization.OtlpSerialization
      )
      const tracer = yield* OtlpTracer.make({
        url: settings.tracesUrl.href,
        resource: { serviceName: settings.serviceName, attributes: settings.resourceAttributes },
        exportInterval,
        maxBatchSize
      }).pipe(
        Effect.provideService(OtlpSerialization.OtlpSerialization, transport.counting(base)),
        Effect.provideService(HttpClient.HttpClient, transport.client),
        Effect.provide(OtlpExporter.layerFlusher),
        // Our keys were read through ConfigSources; Effect's own reading of OTEL_* must not add to them.
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
      )
      return sampling(tracer, settings.sampler)
    })
  )
