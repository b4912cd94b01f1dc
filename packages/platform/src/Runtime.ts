import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Duration, Effect, Exit, Layer } from "effect"
import { HttpServerError } from "effect/http"
import { ConfigSources } from "./ConfigSources.ts"
import { Health } from "./Health.ts"
import { LoggingLayer } from "./Logging.ts"
import { settleMemory } from "./SettleMemory.ts"
import { TracingLayer } from "./Tracing.ts"

/** The contract gives every component 10 seconds from SIGTERM to exit; this leaves a margin. */
const hardExitAfterMs = 9_500

/**
 * How long a component keeps serving after readiness turns false and before
 * its layers (the HTTP listener first) close: the time a load balancer needs to
 * see the failing probe and stop sending new requests. Closing the listener at
 * once refused requests that were still being routed here.
 */
export const readinessGrace = Duration.seconds(2)

/**
 * Writes one JSON line and stops the process: used when the component cannot
 * start (a missing or malformed key), where the logger may not exist yet.
 */
const reportFatal = (component: string, message: string) =>
  Effect.sync(() => {
    process.stdout.write(
      `${JSON.stringify({ level: "FATAL", timestamp: new Date().toISOString(), component, message })}\n`
    )
    process.exitCode = 1
  })

/**
 * What stopped the component, in one line. A failed listen (ServeError) says
 * why only in its cause: the port and EADDRINUSE.
 */
const describeFailure = (error: unknown): string => {
  const reported = error instanceof HttpServerError.ServeError ? error.cause : error
  const message = reported instanceof Error ? reported.message : String(reported)
  return message.length > 0 ? message : "failed to start"
}

/**
 * Runs one component until SIGTERM or SIGINT. On the signal, readiness turns
 * false and `Health.stopping` completes before any layer is torn down, so
 * event streams end and load balancers stop sending new requests while
 * in-flight work finishes; then the layers close in reverse order.
 */
export const runComponent = <E>(component: string, app: Layer.Layer<never, E, Health | ConfigSources>) => {
  const layers = app.pipe(
    Layer.provideMerge(Health.layer),
    // Spans from every layer and fiber of the component go to the tracer, when one is configured.
    Layer.provideMerge(TracingLayer(component)),
    Layer.provideMerge(ConfigSources.layer)
  )
  const program = Effect.gen(function* () {
    const health = yield* Health
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        setTimeout(() => {
          process.stdout.write(
            `${JSON.stringify({ level: "ERROR", component, message: "shutdown overran; exiting" })}\n`
          )
          process.exit(1)
        }, hardExitAfterMs).unref()
        yield* Effect.logInfo("shutting down: readiness is now false")
        yield* health.beginShutdown
        yield* Effect.sleep(readinessGrace)
      })
    )
    yield* Effect.logInfo(`${component} started`)
    // Start-up is over: the C heap it used and no longer needs goes back before the first request.
    yield* settleMemory
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    Effect.provide(layers),
    Effect.provide(LoggingLayer.pipe(Layer.provide(ConfigSources.layer))),
    Effect.annotateLogs({ component }),
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.void
      // A config error already names the key, where it was looked for and what is wrong.
      return reportFatal(component, describeFailure(Cause.squash(cause)))
    })
  )
  NodeRuntime.runMain(program, {
    disableErrorReporting: true,
    // SIGTERM ends the program by interrupting it: that is the graceful stop, exit 0.
    teardown: (exit, onExit) =>
      onExit((Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) && process.exitCode === undefined ? 0 : 1)
  })
}
