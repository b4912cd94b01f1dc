import { Effect, Formatter, Layer, Logger, References } from "effect"
import { logLevelConfig } from "./AppConfig.ts"
import { TracingEnabled } from "./Tracing.ts"

/**
 * Effect's JSON line (Logger.formatJson), plus `trace_id` and `span_id` when
 * the line is written inside a span that is exported: a log line then leads to
 * its trace.
 */
const formatTracedJson = Logger.make((options) => {
  const line: Record<string, unknown> = { ...Logger.formatStructured.log(options) }
  const span = options.fiber.cache.span
  if (span?._tag === "Span" && span.sampled && options.fiber.getRef(TracingEnabled)) {
    line.trace_id = span.traceId
    line.span_id = span.spanId
  }
  return Formatter.formatJson(line)
})

/** One JSON object a line on stdout, at the level LOG_LEVEL names. */
export const LoggingLayer = Layer.unwrap(
  Effect.map(logLevelConfig, (level) =>
    Layer.mergeAll(
      Logger.layer([Logger.withConsoleLog(formatTracedJson)]),
      Layer.succeed(References.MinimumLogLevel, level)
    )
  )
)
