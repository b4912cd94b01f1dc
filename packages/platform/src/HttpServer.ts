import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Duration, Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import { type Component, managementPortConfig, portConfig } from "./AppConfig.ts"
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

/** One Node server on `port` serving `app`. Per-request logging is off (see serveHttp). */
const listen = <A, E, R>(port: number, app: Layer.Layer<A, E, R>) =>
  Layer.unwrap(
    Effect.map(closingServer, (server) =>
      HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
        Layer.provide(NodeHttpServer.layer(() => server, { port, gracefulShutdownTimeout: Duration.seconds(5) }))
      )
    )
  )

export interface ServeOptions {
  /**
   * Listen here instead of reading PORT (the single-process mode, tests). The
   * config is then not read for MANAGEMENT_PORT either: `managementPort` alone
   * decides, so two components in one process never both claim the same one.
   */
  readonly port?: number
  readonly managementPort?: number
}

/**
 * PORT, and MANAGEMENT_PORT if set (never equal to PORT), from the options or
 * else the config. A component that starts background work in its layers (the
 * worker loop, the result feed) reads them first and passes them on, so a bad
 * value stops it with its one line before that work logs anything.
 */
export const servePorts = (component: Component, options: ServeOptions = {}) =>
  Effect.gen(function* () {
    if (options.port !== undefined) return { ...options, port: options.port }
    const port = yield* portConfig(component)
    const management = yield* managementPortConfig(port)
    return Option.isSome(management) ? { port, managementPort: management.value } : { port }
  })

/**
 * Serves a component's routes on its PORT, and the health routes (/livez,
 * /readyz, /metrics) on MANAGEMENT_PORT when that is set, else on PORT too.
 * The health routes on their own server add nothing to the app router, so the
 * vote hot path costs the same either way. Per-request logging is off: at
 * thousands of votes a second it would cost more than the vote; the metrics
 * count requests instead.
 */
export const serveHttp = <A, E, R>(component: Component, routes: Layer.Layer<A, E, R>, options: ServeOptions = {}) =>
  Layer.unwrap(
    Effect.map(servePorts(component, options), ({ port, managementPort }) =>
      managementPort === undefined
        ? listen(port, Layer.mergeAll(routes, HealthRoutes))
        : Layer.mergeAll(listen(port, routes), listen(managementPort, HealthRoutes))
    )
  )

/**
 * Serves only the health routes, for a component with no routes of its own
 * (the worker): on PORT, or on MANAGEMENT_PORT alone when that is set.
 */
export const serveHealth = (component: Component, options: ServeOptions = {}) =>
  Layer.unwrap(
    Effect.map(servePorts(component, options), ({ port, managementPort }) =>
      // With MANAGEMENT_PORT set PORT stays closed: a listener there would answer only 404s.
      listen(managementPort ?? port, HealthRoutes)
    )
  )
