import { assert, describe, it } from "@effect/vitest"
import { conventionProblems, parseMetrics } from "@voting/test-support/MetricsText"
import { Effect, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { metricsAtZero } from "../src/MetricsAtZero.ts"

/** Each test reads its own registry, not the process's. */
const isolated = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Metric.MetricRegistry, new Map())

describe("what /metrics is made of (effect/observability PrometheusMetrics.format)", () => {
  it.effect("a histogram: HELP and TYPE once, cumulative buckets with le, +Inf last, then _sum and _count", () =>
    isolated(
      Effect.gen(function* () {
        const histogram = Metric.histogram("request_duration_seconds", {
          description: "How long",
          boundaries: [0.001, 0.01, 0.1, Number.POSITIVE_INFINITY]
        })
        const get = Metric.withAttributes(histogram, { route: "/a" })
        for (const seconds of [0.0005, 0.005, 0.005, 0.5]) yield* Metric.update(get, seconds)
        yield* Metric.update(Metric.withAttributes(histogram, { route: "/b" }), 0.05)
        const text = yield* PrometheusMetrics.format()
        assert.strictEqual(
          text,
          [
            "# HELP request_duration_seconds How long",
            "# TYPE request_duration_seconds histogram",
            'request_duration_seconds_bucket{route="/a",le="0.001"} 1',
            'request_duration_seconds_bucket{route="/a",le="0.01"} 3',
            'request_duration_seconds_bucket{route="/a",le="0.1"} 3',
            'request_duration_seconds_bucket{route="/a",le="+Inf"} 4',
            'request_duration_seconds_sum{route="/a"} 0.5105',
            'request_duration_seconds_count{route="/a"} 4',
            'request_duration_seconds_bucket{route="/b",le="0.001"} 0',
            'request_duration_seconds_bucket{route="/b",le="0.01"} 0',
            'request_duration_seconds_bucket{route="/b",le="0.1"} 1',
            'request_duration_seconds_bucket{route="/b",le="+Inf"} 1',
            'request_duration_seconds_sum{route="/b"} 0.05',
            'request_duration_seconds_count{route="/b"} 1',
            ""
          ].join("\n")
        )
        assert.deepStrictEqual(conventionProblems(parseMetrics(text)), [])
      })
    )
  )

  it.effect("counters and gauges: HELP whenever the metric has a description, TYPE always", () =>
    isolated(
      Effect.gen(function* () {
        yield* Metric.update(Metric.counter("things_total", { description: "Things" }), 2)
        yield* Metric.update(Metric.gauge("level", { description: "Level" }), 0.5)
        const text = yield* PrometheusMetrics.format()
        assert.strictEqual(
          text,
          "# HELP things_total Things\n# TYPE things_total counter\nthings_total 2\n# HELP level Level\n# TYPE level gauge\nlevel 0.5\n"
        )
      })
    )
  )

  it.effect("a metric is exported only once used; metricsAtZero exports each at zero from the start", () =>
    isolated(
      Effect.gen(function* () {
        const counter = Metric.counter("events_total", { description: "Events" })
        const histogram = Metric.histogram("wait_seconds", { description: "Wait", boundaries: [1] })
        assert.strictEqual(yield* PrometheusMetrics.format(), "")
        yield* Effect.scoped(Layer.build(metricsAtZero([counter, histogram])))
        const families = parseMetrics(yield* PrometheusMetrics.format())
        assert.deepStrictEqual([...families.keys()], ["events_total", "wait_seconds"])
        assert.deepStrictEqual(families.get("events_total")?.samples, [{ name: "events_total", labels: "", value: 0 }])
        assert.deepStrictEqual(conventionProblems(families), [])
      })
    )
  )
})

describe("conventionProblems", () => {
  it("names each way a scrape breaks the conventions", () => {
    const text = [
      "# TYPE no_help_total counter",
      "no_help_total 1",
      "# HELP requests Requests",
      "# TYPE requests counter",
      "requests 1",
      "# HELP depth_total Depth",
      "# TYPE depth_total gauge",
      "depth_total 1",
      "# HELP commit_duration_ms Commit",
      "# TYPE commit_duration_ms histogram",
      'commit_duration_ms_bucket{le="1"} 1',
      "commit_duration_ms_count 1",
      "untyped 3"
    ].join("\n")
    assert.deepStrictEqual(conventionProblems(parseMetrics(text)), [
      "no_help_total: no HELP",
      "requests: a counter not ending in _total",
      "depth_total: a gauge ending in _total",
      "commit_duration_ms: a duration not in _seconds",
      "commit_duration_ms: a unit other than seconds",
      "commit_duration_ms: no +Inf bucket",
      "commit_duration_ms: no _sum",
      "untyped: no HELP",
      "untyped: no TYPE"
    ])
  })
})
