/**
 * Tracing for every component: when OTEL_EXPORTER_OTLP_ENDPOINT is set, spans
 * go to that OTLP/HTTP endpoint through Effect's own OtlpTracer; when it is
 * unset, nothing changes: no exporter code is loaded, the HTTP server keeps
 * its untraced fast path and the vote path builds no spans of its own.
 */
import { Context, Effect, Layer, Metric, Option } from "effect"
import { HttpMiddleware, type HttpServerRequest } from "effect/http"
import { healthPaths } from "./HealthPaths.ts"
import { type TracingSettings, tracingConfig } from "./TracingConfig.ts"

/**
 * Whether spans are exported in this process. Code that would build spans or
 * carry trace context on a hot path (the enqueue span, the stream entry's
 * `traceparent`, the worker's links) reads it once and does nothing when false.
 */
export const TracingEnabled = Context.Reference<boolean>("@voting/platform/TracingEnabled", {
  defaultValue: () => false
})

export const spansDropped = Metric.counter("tracing_spans_dropped_total", {
  description:
    "Finished spans not exported: the collector refused them, did not answer in time, or was behind with more waiting than the bound"
})

export const spansExported = Metric.counter("tracing_spans_exported_total", {
  description: "Finished spans the collector accepted"
})

const untracedPaths = new Set<string>([healthPaths.live, healthPaths.ready, healthPaths.metrics, "/api/results/stream"])

/** The path of a request URL, without its query. */
const pathOf = (url: string) => {
  const query = url.indexOf("?")
  return query < 0 ? url : url.slice(0, query)
}

/**
 * Health checks, metrics scrapes, static assets and event streams (which last
 * as long as a page is open) get no server span: they would bury the votes.
 */
export const isUntracedRequest = (request: HttpServerRequest.HttpServerRequest) => {
  const path = pathOf(request.url)
  return untracedPaths.has(path) || path.startsWith("/assets/")
}

/**
 * `POST /api/vote`, as OpenTelemetry's HTTP conventions name a server span
 * (method and route); a path outside the app's own (a 404) is named by its
 * method alone, so scanners cannot mint a name per URL.
 */
export const serverSpanName = (request: HttpServerRequest.HttpServerRequest) => {
  const path = pathOf(request.url)
  return path === "/" || path.startsWith("/api/") ? `${request.method} ${path}` : request.method
}

/** The HTTP server's span settings: which requests get a span, and its name. */
const httpSpanSettings = Layer.mergeAll(
  Layer.succeed(HttpMiddleware.TracerDisabledWhen)(isUntracedRequest),
  Layer.succeed(HttpMiddleware.SpanNameGenerator)(serverSpanName)
)

/** The tracer exporting to the configured endpoint; its module is loaded only here. */
const exportingTo = (settings: TracingSettings) =>
  Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("./internal/OtlpTracing.ts")),
      (module) =>
        Layer.mergeAll(
          module.otlpTracerLayer(settings, { dropped: spansDropped, exported: spansExported }),
          httpSpanSettings,
          Layer.succeed(TracingEnabled)(true)
        )
    )
  )

/**
 * The tracing layer of a component: Effect's OTLP tracer when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, else nothing at all.
 */
export const TracingLayer = (component: string) =>
  Layer.unwrap(
    Effect.map(tracingConfig(component), (settings) =>
      Option.isSome(settings) ? exportingTo(settings.value) : Layer.empty
    )
  )
