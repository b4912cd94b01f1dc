import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { ConfigSources } from "../src/ConfigSources.ts"
import { parseResourceAttributes, samplerConfig, tracesUrlOf, tracingConfig } from "../src/TracingConfig.ts"

const withEnv = (env: Record<string, string>) => Effect.provide(ConfigSources.layerFrom({ env }))

describe("tracing configuration", () => {
  it.effect("is off (None) without OTEL_EXPORTER_OTLP_ENDPOINT, whatever else is set", () =>
    Effect.gen(function* () {
      const settings = yield* tracingConfig("vote").pipe(
        withEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_TRACES_SAMPLER: "always_on" })
      )
      assert.isTrue(Option.isNone(settings))
    })
  )

  it.effect("reads the spec's defaults: http/protobuf, the component's name, parent-based always on", () =>
    Effect.gen(function* () {
      const settings = yield* tracingConfig("worker").pipe(
        withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })
      )
      assert.deepStrictEqual(Option.getOrThrow(settings), {
        tracesUrl: new URL("http://collector:4318/v1/traces"),
        protocol: "http/protobuf",
        serviceName: "worker",
        resourceAttributes: {},
        sampler: { parentBased: true, root: "always_on", ratio: 1 }
      })
    })
  )

  it.effect("reads every key when set", () =>
    Effect.gen(function* () {
      const settings = yield* tracingConfig("vote").pipe(
        withEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example/base/",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_SERVICE_NAME: "ballots",
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=prod, team=voting%20app,",
          OTEL_TRACES_SAMPLER: "ParentBased_TraceIdRatio",
          OTEL_TRACES_SAMPLER_ARG: "0.01"
        })
      )
      assert.deepStrictEqual(Option.getOrThrow(settings), {
        tracesUrl: new URL("https://otlp.example/base/v1/traces"),
        protocol: "http/json",
        serviceName: "ballots",
        resourceAttributes: { "deployment.environment.name": "prod", team: "voting app" },
        sampler: { parentBased: true, root: "traceidratio", ratio: 0.01 }
      })
    })
  )

  it("appends v1/traces to the endpoint's path, with or without a trailing slash", () => {
    assert.strictEqual(tracesUrlOf(new URL("http://c:4318")).href, "http://c:4318/v1/traces")
    assert.strictEqual(tracesUrlOf(new URL("http://c:4318/otlp")).href, "http://c:4318/otlp/v1/traces")
    assert.strictEqual(tracesUrlOf(new URL("http://c:4318/otlp/")).href, "http://c:4318/otlp/v1/traces")
  })

  it("parses resource attributes as percent-encoded key=value pairs", () => {
    assert.deepStrictEqual(parseResourceAttributes("a=1,b=x%2Cy, c = z "), { a: "1", b: "x,y", c: "z" })
    assert.deepStrictEqual(parseResourceAttributes("k=v=w"), { k: "v=w" })
    assert.deepStrictEqual(parseResourceAttributes(""), {})
    assert.strictEqual(parseResourceAttributes("novalue"), '"novalue" is not key=value')
    assert.strictEqual(parseResourceAttributes("=v"), '"=v" has an empty key')
    assert.strictEqual(parseResourceAttributes("k=%E0%A4%A"), '"k=%E0%A4%A" has a broken %-encoding')
  })

  it.effect.each([
    ["always_on", { parentBased: false, root: "always_on", ratio: 1 }],
    ["always_off", { parentBased: false, root: "always_off", ratio: 1 }],
    ["traceidratio", { parentBased: false, root: "traceidratio", ratio: 1 }],
    ["parentbased_always_off", { parentBased: true, root: "always_off", ratio: 1 }]
  ] as const)("reads OTEL_TRACES_SAMPLER=%s", ([name, sampler]) =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* samplerConfig.pipe(withEnv({ OTEL_TRACES_SAMPLER: name })), sampler)
    })
  )

  it.effect.each([
    ["OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "grpc is not supported here; use http/protobuf or http/json"],
    ["OTEL_EXPORTER_OTLP_PROTOCOL", "http", '"http" is not one of http/protobuf, http/json'],
    ["OTEL_TRACES_SAMPLER", "jaeger_remote", '"jaeger_remote" is not one of always_on'],
    ["OTEL_TRACES_SAMPLER_ARG", "1.5", '"1.5" is not a number from 0 to 1'],
    ["OTEL_TRACES_SAMPLER_ARG", "half", '"half" is not a number from 0 to 1'],
    ["OTEL_RESOURCE_ATTRIBUTES", "team", '"team" is not key=value'],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "the value must start with http: or https:"]
  ] as const)("refuses %s=%s, naming the key and the problem", ([key, value, problem]) =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        tracingConfig("vote").pipe(withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", [key]: value }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const message = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(message, key)
      assert.include(message, problem)
    })
  )
})
