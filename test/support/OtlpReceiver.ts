import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

/** One span as an OTLP/JSON export carries it, with the service that sent it. */
export interface ReceivedSpan {
  readonly service: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  /** Nanoseconds since the epoch, as decimal strings (OTLP/JSON's fixed64). */
  readonly startTimeUnixNano: string
  readonly endTimeUnixNano: string
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
  readonly attributes: Readonly<Record<string, unknown>>
}

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly boolValue?: boolean
  readonly doubleValue?: number
}
interface OtlpKeyValue {
  readonly key: string
  readonly value: OtlpValue
}
interface OtlpTraces {
  readonly resourceSpans?: ReadonlyArray<{
    readonly resource?: { readonly attributes?: ReadonlyArray<OtlpKeyValue> }
    readonly scopeSpans?: ReadonlyArray<{
      readonly spans?: ReadonlyArray<{
        readonly traceId: string
        readonly spanId: string
        readonly parentSpanId?: string
        readonly name: string
        readonly kind: number
        readonly startTimeUnixNano: string | number
        readonly endTimeUnixNano: string | number
        readonly attributes?: ReadonlyArray<OtlpKeyValue>
        readonly links?: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>
      }>
    }>
  }>
}

const attributeValue = (value: OtlpValue): unknown =>
  value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue

const attributesOf = (list: ReadonlyArray<OtlpKeyValue> | undefined) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, attributeValue(value)]))

/**
 * An OTLP/HTTP receiver for traces in OTLP/JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`),
 * on 127.0.0.1 in the test process: point OTEL_EXPORTER_OTLP_ENDPOINT at `endpoint`. It keeps
 * every span it is sent; `waitFor` resolves once the spans received satisfy a condition.
 * Anything but a POST to /v1/traces is answered 404.
 */
export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  /** Resolves with the spans received once `done` holds for them (checked on every export). */
  readonly waitFor: (done: (spans: ReadonlyArray<ReceivedSpan>) => boolean) => Promise<ReadonlyArray<ReceivedSpan>>
  /** Stops accepting; the port stays reserved for `reopen`. */
  readonly close: () => Promise<void>
}

export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const received: Array<ReceivedSpan> = []
  const waiters = new Set<() => void>()
  const server: Server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      if (request.method !== "POST" || request.url !== "/v1/traces") {
        response.writeHead(404).end()
        return
      }
      if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
        response.writeHead(415).end()
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpTraces
      for (const resource of body.resourceSpans ?? []) {
        const service = String(attributesOf(resource.resource?.attributes)["service.name"] ?? "")
        for (const scope of resource.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            received.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId,
              name: span.name,
              kind: span.kind,
              startTimeUnixNano: String(span.startTimeUnixNano),
              endTimeUnixNano: String(span.endTimeUnixNano),
              links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
              attributes: attributesOf(span.attributes)
            })
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
      for (const wake of waiters) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => received,
    waitFor: (done) =>
      new Promise((resolve) => {
        const check = () => {
          if (!done(received)) return
          waiters.delete(check)
          resolve(received)
        }
        waiters.add(check)
        check()
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
