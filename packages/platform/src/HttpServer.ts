import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Duration, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { type Component, portConfig } from "./AppConfig.ts"
import { Health, HealthRoutes } from "./Health.ts"

/**
 * A Node server whose answers say `Connection: close` once shutdown has begun.
 * A client on a keep-alive connection then reconnects (to another replica)
 * after its current request, instead of keeping this one busy until the
 * server's drain times out. Done on Node's response rather than as a router
 * middleware: any middleware takes every request off the router's one-frame
 * fast path.
 */
const closingServer = Effect.gen(function* () {
  const health = yield* Health
  const server = createServer({ keepAliveTimeout: 65_000 })
  let stopping = false
  // Registered before the router's own listener, so it runs first for every request.
  server.on("request", (_request: IncomingMessage, response: ServerResponse) => {
    if (stopping) response.shouldKeepAlive = false
  })
  yield* Effect.forkScoped(
    Effect.andThen(
      Deferred.await(health.stopping),
      Effect.sync(() => {
        stopping = true
      })
    )
  )
  return server
})

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
    Effect.gen(function* () {
      const port = options.port ?? (yield* portConfig(component))
      const server = yield* closingServer
      return HttpRouter.serve(Layer.mergeAll(routes, HealthRoutes), {
        disableLogger: true,
        disableListenLog: true
      }).pipe(Layer.provide(NodeHttpServer.layer(() => server, { port, gracefulShutdownTimeout: Duration.seconds(5) })))
    })
  )
