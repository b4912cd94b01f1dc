import { Context, Deferred, Duration, Effect, Layer, Metric, Ref } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { healthPaths } from "./HealthPaths.ts"
import { spansDropped, spansExported } from "./Tracing.ts"

/** What a failed readiness check fails with: anything that says what is wrong. */
export interface CheckFailure {
  readonly message: string
}

/** How long one dependency check may take before the component counts as not ready. */
const checkTimeout = Duration.seconds(2)

/**
 * What `/readyz` answers: ready when every registered dependency answers and
 * the component is not shutting down. `stopping` completes when SIGTERM
 * arrives, so long-lived work (event streams, the worker loop) can end first.
 */
export class Health extends Context.Service<
  Health,
  {
    /** A check fails with an error whose message says what is wrong; that message is its status. */
    readonly addCheck: (name: string, check: Effect.Effect<unknown, CheckFailure>) => Effect.Effect<void>
    readonly readiness: Effect.Effect<{ readonly ready: boolean; readonly checks: Record<string, string> }>
    readonly beginShutdown: Effect.Effect<void>
    readonly stopping: Deferred.Deferred<void>
  }
>()("@voting/platform/Health") {
  static readonly layer = Layer.effect(
    Health,
    Effect.gen(function* () {
      const checks = yield* Ref.make<ReadonlyArray<readonly [string, Effect.Effect<unknown, CheckFailure>]>>([])
      const stopping = yield* Deferred.make<void>()
      const runCheck = ([name, check]: readonly [string, Effect.Effect<unknown, CheckFailure>]) =>
        check.pipe(
          Effect.timeout(checkTimeout),
          Effect.match({
            onSuccess: () => [name, "ok"] as const,
            onFailure: (error) => [name, error.message] as const
          })
        )
      return Health.of({
        addCheck: (name, check) => Ref.update(checks, (all) => [...all, [name, check] as const]),
        readiness: Effect.gen(function* () {
          if (yield* Deferred.isDone(stopping)) return { ready: false, checks: { shutdown: "shutting down" } }
          const results = yield* Effect.forEach(yield* Ref.get(checks), runCheck, { concurrency: "unbounded" })
          return { ready: results.every(([, status]) => status === "ok"), checks: Object.fromEntries(results) }
        }),
        beginShutdown: Deferred.succeed(stopping, undefined).pipe(Effect.asVoid),
        stopping
      })
    })
  )
}

/**
 * Sent with every health and metrics answer: a cache never keeps one (each
 * says how things are now) and a browser never reads one as another type.
 * The same two headers as @voting/web's `apiHeaders`, which this package does
 * not depend on.
 */
const answerHeaders: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff"
}

/** `/livez`, `/readyz` and `/metrics`, served by every component. */
export const HealthRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const health = yield* Health
    // The tracing counters on /metrics from the start, at 0 while tracing is off, so a dashboard always finds them.
    yield* Metric.update(spansDropped, 0)
    yield* Metric.update(spansExported, 0)
    yield* router.add(
      "GET",
      healthPaths.live,
      Effect.succeed(HttpServerResponse.text("ok", { headers: answerHeaders }))
    )
    yield* router.add(
      "GET",
      healthPaths.ready,
      Effect.map(health.readiness, (readiness) =>
        HttpServerResponse.jsonUnsafe(readiness, { status: readiness.ready ? 200 : 503, headers: answerHeaders })
      )
    )
    yield* router.add(
      "GET",
      healthPaths.metrics,
      Effect.map(PrometheusMetrics.format(), (text) =>
        HttpServerResponse.text(text, {
          contentType: "text/plain; version=0.0.4; charset=utf-8",
          headers: answerHeaders
        })
      )
    )
  })
)
