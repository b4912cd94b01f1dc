/**
 * The tracing keys, as the OpenTelemetry SDK names them: where spans go
 * (OTEL_EXPORTER_OTLP_ENDPOINT, unset: nowhere), how they are encoded, which
 * service they are from and which traces are kept. Read through ConfigSources
 * like every key, so a file under CONFIG_DIR sets them as well as the environment.
 */
import { Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { NonEmpty, optional, read, refuse, UrlOf, type ValueCodec } from "./ConfigValues.ts"

export type OtlpProtocol = "http/protobuf" | "http/json"

/**
 * Which traces are kept. `parentBased`: a span with a parent (or, for a batch
 * or a re-read, a link) follows its decision; `root` decides the rest: always,
 * never, or a share of trace ids.
 */
export interface Sampler {
  readonly parentBased: boolean
  readonly root: "always_on" | "always_off" | "traceidratio"
  /** The share of traces kept by `traceidratio`, 0 to 1. */
  readonly ratio: number
}

export interface TracingSettings {
  /** Where spans are posted: the endpoint with `v1/traces` appended. */
  readonly tracesUrl: URL
  readonly protocol: OtlpProtocol
  readonly serviceName: string
  readonly resourceAttributes: Readonly<Record<string, string>>
  readonly sampler: Sampler
}

/** `v1/traces` appended to the endpoint's path, as the OTLP exporter spec says for the base endpoint. */
export const tracesUrlOf = (endpoint: URL): URL => {
  const url = new URL(endpoint.href)
  url.pathname = `${url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`}v1/traces`
  return url
}

const protocols: ReadonlyArray<OtlpProtocol> = ["http/protobuf", "http/json"]

const Protocol: ValueCodec<OtlpProtocol> = Schema.String.check(
  refuse((raw) =>
    protocols.includes(raw as OtlpProtocol)
      ? undefined
      : raw === "grpc"
        ? "grpc is not supported here; use http/protobuf or http/json"
        : `"${raw.slice(0, 20)}" is not one of http/protobuf, http/json`
  )
).pipe(Schema.decodeTo(Schema.Literals(protocols)))

/** One `%XX`-encoded part of OTEL_RESOURCE_ATTRIBUTES, or undefined when its encoding is broken. */
const percentDecoded = (raw: string): string | undefined => {
  try {
    return decodeURIComponent(raw.trim())
  } catch {
    return undefined
  }
}

/**
 * `key=value` pairs separated by commas, each part percent-decoded (the W3C
 * Baggage format the Resource SDK spec names, without properties).
 * Returns the attributes, or the problem in words.
 */
export const parseResourceAttributes = (raw: string): Record<string, string> | string => {
  const attributes: Record<string, string> = {}
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue
    const equals = pair.indexOf("=")
    if (equals < 0) return `"${pair.trim().slice(0, 40)}" is not key=value`
    const key = percentDecoded(pair.slice(0, equals))
    const value = percentDecoded(pair.slice(equals + 1))
    if (key === undefined || value === undefined) return `"${pair.trim().slice(0, 40)}" has a broken %-encoding`
    if (key === "") return `"${pair.trim().slice(0, 40)}" has an empty key`
    attributes[key] = value
  }
  return attributes
}

const ResourceAttributes: ValueCodec<Record<string, string>> = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Record(Schema.String, Schema.String),
    SchemaTransformation.transformEffect<Record<string, string>, string>({
      decode: (raw) => {
        const parsed = parseResourceAttributes(raw)
        return typeof parsed === "string"
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: parsed }))
          : Effect.succeed(parsed)
      },
      encode: (attributes) =>
        Effect.succeed(
          Object.entries(attributes)
            .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
            .join(",")
        )
    })
  )
)

const samplerNames = {
  always_on: { parentBased: false, root: "always_on" },
  always_off: { parentBased: false, root: "always_off" },
  traceidratio: { parentBased: false, root: "traceidratio" },
  parentbased_always_on: { parentBased: true, root: "always_on" },
  parentbased_always_off: { parentBased: true, root: "always_off" },
  parentbased_traceidratio: { parentBased: true, root: "traceidratio" }
} as const satisfies Record<string, Omit<Sampler, "ratio">>
type SamplerName = keyof typeof samplerNames

const SamplerName: ValueCodec<SamplerName> = Schema.String.check(
  refuse((raw) =>
    Object.hasOwn(samplerNames, raw.toLowerCase())
      ? undefined
      : `"${raw.slice(0, 30)}" is not one of ${Object.keys(samplerNames).join(", ")}`
  )
).pipe(
  Schema.decodeTo(
    Schema.Literals(Object.keys(samplerNames) as Array<SamplerName>),
    SchemaTransformation.transform({
      decode: (raw) => raw.toLowerCase() as SamplerName,
      encode: (name) => name
    })
  )
)

/** A probability: a decimal number from 0 to 1. */
const Ratio: ValueCodec<number> = Schema.String.check(
  refuse((raw) =>
    /^(0|1|0?\.\d+|[01]\.\d*)$/.test(raw.trim()) && Number(raw) >= 0 && Number(raw) <= 1
      ? undefined
      : `"${raw.slice(0, 20)}" is not a number from 0 to 1`
  )
).pipe(Schema.decodeTo(Schema.Number, SchemaTransformation.numberFromString))

/** The spec's default: every trace, children following their parent. */
export const defaultSampler: Sampler = { parentBased: true, root: "always_on", ratio: 1 }

/** OTEL_TRACES_SAMPLER (default parentbased_always_on) and OTEL_TRACES_SAMPLER_ARG (the ratio, default 1.0). */
export const samplerConfig = Effect.gen(function* () {
  const name = yield* read("OTEL_TRACES_SAMPLER", SamplerName, "parentbased_always_on")
  const ratio = yield* read("OTEL_TRACES_SAMPLER_ARG", Ratio, 1)
  return { ...samplerNames[name], ratio } satisfies Sampler
})

/**
 * The tracing settings, or None when OTEL_EXPORTER_OTLP_ENDPOINT is unset:
 * then nothing is exported and no exporter code is even loaded.
 * OTEL_SERVICE_NAME defaults to the component's name.
 */
export const tracingConfig = (component: string) =>
  Effect.gen(function* () {
    const endpoint = yield* optional("OTEL_EXPORTER_OTLP_ENDPOINT", UrlOf(["http:", "https:"]))
    if (Option.isNone(endpoint)) return Option.none<TracingSettings>()
    return Option.some<TracingSettings>({
      tracesUrl: tracesUrlOf(endpoint.value),
      protocol: yield* read("OTEL_EXPORTER_OTLP_PROTOCOL", Protocol, "http/protobuf"),
      serviceName: yield* read("OTEL_SERVICE_NAME", NonEmpty, component),
      resourceAttributes: yield* read("OTEL_RESOURCE_ATTRIBUTES", ResourceAttributes, {}),
      sampler: yield* samplerConfig
    })
  })
