import { assert, describe, it } from "@effect/vitest"
import { Tracer } from "effect"
import { decodeTraceparent, encodeTraceparent } from "../src/TraceParent.ts"

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const spanId = "00f067aa0ba902b7"

describe("traceparent", () => {
  it("writes a span as version 00 with its sampled flag, and reads it back", () => {
    const sampled = Tracer.externalSpan({ traceId, spanId, sampled: true })
    const value = encodeTraceparent(sampled)
    assert.strictEqual(value, `00-${traceId}-${spanId}-01`)
    assert.deepInclude(decodeTraceparent(value), { traceId, spanId, sampled: true })
    assert.strictEqual(encodeTraceparent(Tracer.externalSpan({ traceId, spanId, sampled: false })).slice(-2), "00")
    assert.deepInclude(decodeTraceparent(`00-${traceId}-${spanId}-00`), { sampled: false })
    // Flags other than "sampled" are ignored, not refused.
    assert.deepInclude(decodeTraceparent(`00-${traceId}-${spanId}-03`), { sampled: true })
  })

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["garbage", "not-a-traceparent"],
    ["an unknown version", `01-${traceId}-${spanId}-01`],
    ["upper-case hex", `00-${traceId.toUpperCase()}-${spanId}-01`],
    ["a short trace id", `00-${traceId.slice(1)}-${spanId}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${spanId}-01`],
    ["an all-zero span id", `00-${traceId}-${"0".repeat(16)}-01`],
    ["trailing text", `00-${traceId}-${spanId}-01-extra`]
  ])("reads %s as no context", (_, value) => {
    assert.isUndefined(decodeTraceparent(value))
  })
})
