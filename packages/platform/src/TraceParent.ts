/**
 * The W3C `traceparent` value (`00-<trace id>-<span id>-<flags>`) a span's
 * context travels in between processes: in a queue entry, in a NOTIFY payload.
 */
import { Tracer } from "effect"

/** Version 00 only; lower-case hex, as the W3C Trace Context format writes it. */
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/
const zeroTraceId = "0".repeat(32)
const zeroSpanId = "0".repeat(16)

/** The `traceparent` of a span, flagged sampled or not as the span is. */
export const encodeTraceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`

/**
 * The span a `traceparent` names, or undefined when the value is missing or
 * not a valid one (an old entry, another producer, a damaged field): the
 * reader then starts a fresh trace, it never refuses the work it came with.
 */
export const decodeTraceparent = (value: string | undefined): Tracer.ExternalSpan | undefined => {
  if (value === undefined || value.length !== 55) return undefined
  const match = traceparentPattern.exec(value)
  if (match === null) return undefined
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string]
  // All-zero ids are invalid by the W3C format: they name no trace.
  if (traceId === zeroTraceId || spanId === zeroSpanId) return undefined
  return Tracer.externalSpan({ traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 })
}
