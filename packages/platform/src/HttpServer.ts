import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { type Component, portConfig } from "./AppConfig.ts"
import { HealthRoutes } from "./Health.ts"

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
      HttpRouter.serve(Layer.mergeAll(routes, HealthRoutes), { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provide(
          NodeHttpServer.layer(() => createServer({ keepAliveTimeout: 65_000 }), {
            port,
            gracefulShutdownTimeout: Duration.seconds(5)
          })
        )
      )
    )
  )
