import { assert, describe, it } from "@effect/vitest"
import { conventionProblems, parseMetrics, sampleValue } from "@voting/test-support/MetricsText"
import { freePort } from "@voting/test-support/Processes"
import { Effect, Layer, Metric, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { ConfigSources } from "../src/ConfigSources.ts"
import { Health } from "../src/Health.ts"
import { serveHttp } from "../src/HttpServer.ts"

class Broken extends Schema.TaggedError<Broken>()("Broken", {}) {}

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/items/:id", HttpServerResponse.text("item")),
  HttpRouter.add("POST", "/items", HttpServerResponse.empty({ status: 201 })),
  HttpRouter.add("GET", "/gone", HttpServerResponse.empty({ status: 404 })),
  HttpRouter.add("GET", "/broken", Effect.fail(new Broken())),
  HttpRouter.add("GET", "/slow", Effect.as(Effect.sleep("30 millis"), HttpServerResponse.text("slow")))
)

const name = "http_server_request_duration_seconds"
const count = (families: ReturnType<typeof parseMetrics>, labels: string) =>
  sampleValue(families, `${name}_count`, `{${labels}}`)

describe("http_server_request_duration_seconds", () => {
  it.live("times each request by route pattern, method and status class, on the app routes only", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      yield* Layer.build(
        serveHttp("vote", Routes, { port }).pipe(
          Layer.provideMerge(Health.layer),
          Layer.provide(ConfigSources.layerFrom({ env: {} }))
        )
      )
      const send = (path: string, method = "GET") =>
        Effect.promise(async () => {
          const response = await fetch(`http://127.0.0.1:${port}${path}`, { method })
          await response.arrayBuffer()
          return response.status
        })
      assert.deepStrictEqual(
        yield* Effect.forEach(
          [
            ["/items/1"],
            ["/items/2"],
            ["/items/3", "HEAD"],
            ["/items", "POST"],
            ["/gone"],
            ["/broken"],
            ["/slow"],
            ["/nowhere"],
            ["/livez"],
            ["/metrics"]
          ] as const,
          ([path, method]) => send(path, method)
        ),
        [200, 200, 200, 201, 404, 500, 200, 404, 200, 200]
      )
      const text = yield* PrometheusMetrics.format()
      const families = parseMetrics(text)
      assert.deepStrictEqual(conventionProblems(families), [])
      // The pattern, never the raw path: both items share one series.
      assert.strictEqual(count(families, 'route="/items/:id",method="GET",status_class="2xx"'), 2)
      assert.strictEqual(count(families, 'route="/items/:id",method="HEAD",status_class="2xx"'), 1)
      assert.strictEqual(count(families, 'route="/items",method="POST",status_class="2xx"'), 1)
      assert.strictEqual(count(families, 'route="/gone",method="GET",status_class="4xx"'), 1)
      // A handler that fails is counted with the status it is answered with.
      assert.strictEqual(count(families, 'route="/broken",method="GET",status_class="5xx"'), 1)
      // Seconds, not milliseconds: the slow route took at least 30 ms and far less than a second.
      const slowSum = sampleValue(families, `${name}_sum`, '{route="/slow",method="GET",status_class="2xx"}') ?? 0
      assert.isAtLeast(slowSum, 0.03)
      assert.isBelow(slowSum, 1)
      assert.strictEqual(
        sampleValue(families, `${name}_bucket`, '{route="/slow",method="GET",status_class="2xx",le="0.025"}'),
        0
      )
      // Unrouted requests and the health and metrics routes are not timed.
      const routes = new Set(families.get(name)?.samples.map((s) => /route="([^"]*)"/.exec(s.labels)?.[1]))
      assert.deepStrictEqual([...routes].sort(), ["/broken", "/gone", "/items", "/items/:id", "/slow"])
      assert.strictEqual(families.get(name)?.help?.startsWith("Time from routing a request"), true)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))
  )
})
