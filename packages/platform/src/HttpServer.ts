import { type IncomingMessage, Server, type ServerOptions, type ServerResponse } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Cause, Context, Deferred, Duration, Effect, Layer, Option, Tracer } from "effect"
import { HttpRouter, type HttpServerRequest } from "effect/http"
import { type Component, managementPortConfig, maxConnectionsConfig, portConfig } from "./AppConfig.ts"
import { FastRoutes, makeFastRouteTable } from "./FastRoutes.ts"
import { Health, HealthRoutes } from "./Health.ts"
import { RequestDuration } from "./RequestDuration.ts"

/**
 * How long a client may take to send a request, on every listener. A browser,
 * curl or the Ingress sends a vote's headers and its body (16 KiB at most) in
 * one go, within a round trip; a client that trickles them holds a socket, so
 * it is cut (408, then closed). Node's defaults (60 s for the headers, 300 s
 * for the request, checked every 30 s) let one held a socket for minutes.
 * - headers: 20 s from the connection or the start of the request; a socket
 *   that sends nothing at all is closed then too. Longer than the 10 s for
 *   which Chrome keeps a preconnected socket unused, so a browser drops its
 *   own spare connection before the server would.
 * - request: 30 s for headers and body together; even 16 KiB at a slow mobile
 *   uplink takes a few seconds.
 * - checked every second, so a cut comes within a second of its limit.
 * The request timeout ends when the request has been received, not when the
 * answer has been sent: an event stream, which is a GET with no body, stays
 * open for as long as it runs. An idle keep-alive connection is closed after
 * `keepAlive` (longer than a proxy's idle timeout, so the proxy closes first).
 */
export const serverTimeouts = {
  headersMs: 20_000,
  requestMs: 30_000,
  checkEveryMs: 1_000,
  keepAliveMs: 65_000
} as const

/**
 * A Node server whose answers say `Connection: close` once shutdown has begun,
 * and which offers each request to its fast routes (FastRoutes.ts) before the
 * Effect router's listener sees it.
 * - Closing: a client on a keep-alive connection then reconnects (to another
 *   replica) after its current request, instead of keeping this one busy
 *   until the server's drain times out. Done on Node's response rather than as
 *   a router middleware: any middleware takes every request off the router's
 *   one-frame fast path.
 * - Fast routes: a request one of them takes never reaches the router's
 *   `request` listener, which is why they are dispatched here, in `emit`,
 *   rather than by a listener of their own.
 */
class RoutingServer extends Server {
  stopping = false
  readonly fastRoutes = makeFastRouteTable()

  readonly onFastRouteDefect: (error: unknown) => void

  constructor(options: ServerOptions, onFastRouteDefect: (error: unknown) => void) {
    super(options)
    this.onFastRouteDefect = onFastRouteDefect
  }

  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter's own signature
  override emit(event: string | symbol, ...args: Array<any>): boolean {
    if (event === "request") {
      const request = args[0] as IncomingMessage
      const response = args[1] as ServerResponse
      if (this.stopping) response.shouldKeepAlive = false
      try {
        if (this.fastRoutes.dispatch(request, response)) return true
      } catch (error) {
        // A fast route is plain code on Node's objects, outside any fiber: a bug there must cost
        // its one request (a 500, logged, as the router answers a defect), never the process.
        this.onFastRouteDefect(error)
        if (!response.headersSent) response.writeHead(500, { "content-length": "0" })
        response.end()
        return true
      }
    }
    return super.emit(event, ...args)
  }
}

/**
 * The server for one listener. It holds at most `maxConnections` at once
 * (MAX_CONNECTIONS): Node closes any connection over that as soon as it is
 * accepted.
 */
const closingServer = (maxConnections: number) =>
  Effect.gen(function* () {
    const health = yield* Health
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    const server = new RoutingServer(
      {
        keepAliveTimeout: serverTimeouts.keepAliveMs,
        headersTimeout: serverTimeouts.headersMs,
        requestTimeout: serverTimeouts.requestMs,
        connectionsCheckingInterval: serverTimeouts.checkEveryMs
      },
      (error) => runFork(Effect.logError("a fast route failed; answered 500", Cause.die(error)))
    )
    server.maxConnections = maxConnections
    yield* Effect.forkScoped(
      Effect.andThen(
        Deferred.await(health.stopping),
        Effect.sync(() => {
          server.stopping = true
        })
      )
    )
    return server
  })

/**
 * The Node response behind a request these listeners serve, for a route that
 * writes its answer itself (the result service's event streams) or watches it
 * close; undefined for a request that did not come through Node.
 */
export const nodeResponseOf = (request: HttpServerRequest.HttpServerRequest): ServerResponse | undefined =>
  "response" in request ? (NodeHttpServerRequest.toServerResponse(request) as ServerResponse) : undefined

interface Listener {
  readonly port: number
  /** Unset: every interface, as in a container. */
  readonly host?: string | undefined
  readonly maxConnections: number
}

/**
 * One Node server on `port` (and `host`) serving `app`. Per-request logging is off (see serveHttp).
 * The app's layers may register fast routes (FastRoutes) unless a tracer is configured: then every
 * request goes through the router, whose tracer opens the HTTP server span, and nothing else changes.
 */
const listen = <A, E, R>({ port, host, maxConnections }: Listener, app: Layer.Layer<A, E, R>) =>
  Layer.unwrap(
    Effect.map(Effect.all([closingServer(maxConnections), Effect.tracer]), ([server, tracer]) =>
      HttpRouter.serve(
        tracer === Tracer.nativeTracer ? Layer.provide(app, Layer.succeed(FastRoutes)(server.fastRoutes)) : app,
        { disableLogger: true, disableListenLog: true }
      ).pipe(
        Layer.provide(
          NodeHttpServer.layer(() => server, {
            port,
            ...(host === undefined ? {} : { host }),
            gracefulShutdownTimeout: Duration.seconds(5)
          })
        )
      )
    )
  )

/**
 * The address every listener in this process binds to. Unset (the default):
 * every interface, which the components need in a container, where the
 * kubelet and the Ingress reach them on the pod's address. `npm start`
 * sets it from HOST (127.0.0.1 unless told otherwise).
 */
export const ListenHost = Context.Reference<string | undefined>("@voting/platform/ListenHost", {
  defaultValue: () => undefined
})

export interface ServeOptions {
  /**
   * Listen here instead of reading PORT (the single-process mode, tests). The
   * config is then not read for MANAGEMENT_PORT either: `managementPort` alone
   * decides, so two components in one process never both claim the same one.
   */
  readonly port?: number
  readonly managementPort?: number
  /** The connection cap of each listener; unset, MAX_CONNECTIONS is read. */
  readonly maxConnections?: number
}

/**
 * PORT, and MANAGEMENT_PORT if set (never equal to PORT), from the options or
 * else the config. A component that starts background work in its layers (the
 * worker loop, the result feed) reads them first and passes them on, so a bad
 * value stops it with its one line before that work logs anything.
 */
export const servePorts = (component: Component, options: ServeOptions = {}) =>
  Effect.gen(function* () {
    const maxConnections = options.maxConnections ?? (yield* maxConnectionsConfig)
    const host = yield* ListenHost
    if (options.port !== undefined) return { ...options, port: options.port, maxConnections, host }
    const port = yield* portConfig(component)
    const management = yield* managementPortConfig(port)
    return Option.isSome(management)
      ? { port, managementPort: management.value, maxConnections, host }
      : { port, maxConnections, host }
  })

/**
 * Serves a component's routes on its PORT, and the health routes (/livez,
 * /readyz, /metrics) on MANAGEMENT_PORT when that is set, else on PORT too.
 * The health routes on their own server add nothing to the app router, so the
 * vote hot path costs the same either way. Per-request logging is off: at
 * thousands of votes a second it would cost more than the vote; the metrics
 * count requests instead, and time each one by its route (RequestDuration).
 */
export const serveHttp = <A, E, R>(component: Component, routes: Layer.Layer<A, E, R>, options: ServeOptions = {}) =>
  Layer.unwrap(
    Effect.map(servePorts(component, options), ({ port, managementPort, host, maxConnections }) => {
      // Only the component's own routes are timed: health probes and scrapes would drown them.
      const timed = Layer.provide(routes, RequestDuration)
      return managementPort === undefined
        ? listen({ port, host, maxConnections }, Layer.mergeAll(timed, HealthRoutes))
        : Layer.mergeAll(
            listen({ port, host, maxConnections }, timed),
            listen({ port: managementPort, host, maxConnections }, HealthRoutes)
          )
    })
  )

/**
 * Serves only the health routes, for a component with no routes of its own
 * (the worker): on PORT, or on MANAGEMENT_PORT alone when that is set.
 */
export const serveHealth = (component: Component, options: ServeOptions = {}) =>
  Layer.unwrap(
    Effect.map(servePorts(component, options), ({ port, managementPort, host, maxConnections }) =>
      // With MANAGEMENT_PORT set PORT stays closed: a listener there would answer only 404s.
      listen({ port: managementPort ?? port, host, maxConnections }, HealthRoutes)
    )
  )
