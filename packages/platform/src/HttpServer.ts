import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { type Component, portConfig } from "./AppConfig.ts"
import { Health, HealthRoutes } from "./Health.ts"

/**
 * Once shutdown has begun, every answer says `Connection: close`. A client on a
 * keep-alive connection then reconnects (to another replica) after its current
 * request, instead of keeping this one busy until the server's drain times out.
 */
const CloseConnectionsWhenStopping = Layer.unwrap(
  Effect.gen(function* () {
    const health = yield* Health
    return HttpRouter.middleware(
      (httpEffect) =>
        Effect.flatMap(httpEffect, (response) =>
          Effect.map(Deferred.isDone(health.stopping), (stopping) =>
            stopping ? HttpServerResponse.setHeader(response, "connection", "close") : response
          )
        ),
      { global: true }
    )
  })
)

/**
 * Serves a component's routes plus the health routes on its PORT. Per-request
 * logging is off: at thousands of votes a second it would cost more than the
 * vote; the metrics count requests instead.
 */
export const serveHttp = <A, E, R>(
  component: Component,
  routes: Layer.Layer<A, E, R>,
  options: { readonly port?: number } = {}
) =>
  Layer.unwrap(
    Effect.map(options.port === undefined ? portConfig(component) : Effect.succeed(options.port), (port) =>
      HttpRouter.serve(Layer.mergeAll(routes, HealthRoutes, CloseConnectionsWhenStopping), {
        disableLogger: true,
        disableListenLog: true
      }).pipe(
        Layer.provide(
          NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 65_000 }), {
            port,
            gracefulShutdownTimeout: Duration.seconds(5)
          })
        )
      )
    )
  )
