import { get } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { freePort } from "@voting/test-support/Processes"
import { Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ConfigSources } from "../src/ConfigSources.ts"
import { FastRoutes } from "../src/FastRoutes.ts"
import { Health } from "../src/Health.ts"
import { ListenHost, serveHealth, serveHttp } from "../src/HttpServer.ts"

/** GET /livez over a real socket: the status and what the server said about the connection. */
const livez = (port: number) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        get({ host: "127.0.0.1", port, path: "/livez" }, (response) => {
          response.resume()
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, connection: response.headers.connection })
          )
        }).on("error", reject)
      })
  )

describe("serveHttp", () => {
  it.live("keeps connections alive, and answers Connection: close once shutdown has begun", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const context = yield* Layer.build(
        serveHttp("vote", Layer.empty, { port }).pipe(
          Layer.provideMerge(Health.layer),
          Layer.provide(ConfigSources.layer)
        )
      )
      const health = Context.get(context, Health)
      const before = yield* livez(port)
      assert.deepStrictEqual(before, { status: 200, connection: "keep-alive" })
      yield* health.beginShutdown
      // The flag follows the shutdown signal on another fiber: give it its turn.
      yield* Effect.yieldNow
      const after = yield* livez(port)
      assert.deepStrictEqual(after, { status: 200, connection: "close" })
    }).pipe(Effect.scoped)
  )
})

/** GET `path` over a real socket: the status, or "refused" when nothing listens. */
const status = (port: number, path: string) =>
  Effect.promise(
    () =>
      new Promise<number | "refused">((resolve, reject) => {
        get({ host: "127.0.0.1", port, path }, (response) => {
          response.resume()
          response.on("end", () => resolve(response.statusCode ?? 0))
        }).on("error", (error: NodeJS.ErrnoException) =>
          error.code === "ECONNREFUSED" ? resolve("refused") : reject(error)
        )
      })
  )

const AppRoute = HttpRouter.add("GET", "/app", HttpServerResponse.text("app"))
const probed = ["/livez", "/readyz", "/metrics", "/app"] as const

/** Each probed path's status on `port`. */
const statuses = (port: number) =>
  Effect.map(
    Effect.forEach(probed, (path) => status(port, path)),
    (codes) => Object.fromEntries(probed.map((path, i) => [path, codes[i]]))
  )

/** Builds `layer` with the config read from `env` alone, as a component would. */
const buildWith = <A, E>(layer: Layer.Layer<A, E, Health | ConfigSources>, env: Record<string, string>) =>
  Layer.build(layer.pipe(Layer.provideMerge(Health.layer), Layer.provide(ConfigSources.layerFrom({ env }))))

const twoPorts = Effect.all([Effect.promise(freePort), Effect.promise(freePort)]).pipe(
  Effect.repeat({ until: ([a, b]) => a !== b })
)

describe("MANAGEMENT_PORT", () => {
  it.live("unset: health, metrics and the app routes all answer on PORT", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      yield* buildWith(serveHttp("vote", AppRoute), { PORT: String(port) })
      assert.deepStrictEqual(yield* statuses(port), { "/livez": 200, "/readyz": 200, "/metrics": 200, "/app": 200 })
    }).pipe(Effect.scoped)
  )

  it.live("set: health and metrics answer on it only; PORT keeps the app routes and 404s the rest", () =>
    Effect.gen(function* () {
      const [port, management] = yield* twoPorts
      yield* buildWith(serveHttp("vote", AppRoute), { PORT: String(port), MANAGEMENT_PORT: String(management) })
      assert.deepStrictEqual(yield* statuses(port), { "/livez": 404, "/readyz": 404, "/metrics": 404, "/app": 200 })
      assert.deepStrictEqual(yield* statuses(management), {
        "/livez": 200,
        "/readyz": 200,
        "/metrics": 200,
        "/app": 404
      })
    }).pipe(Effect.scoped)
  )

  it.live("set: the management port turns unready and says Connection: close once shutdown begins", () =>
    Effect.gen(function* () {
      const [port, management] = yield* twoPorts
      const context = yield* buildWith(serveHttp("result", AppRoute), {
        PORT: String(port),
        MANAGEMENT_PORT: String(management)
      })
      yield* Context.get(context, Health).beginShutdown
      yield* Effect.yieldNow
      assert.strictEqual(yield* status(management, "/readyz"), 503)
      assert.deepStrictEqual(yield* livez(management), { status: 200, connection: "close" })
    }).pipe(Effect.scoped)
  )

  it.live("the worker (health routes only): on PORT when unset; on MANAGEMENT_PORT alone when set", () =>
    Effect.gen(function* () {
      const [port, management] = yield* twoPorts
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* buildWith(serveHealth("worker"), { PORT: String(port) })
          assert.deepStrictEqual(yield* statuses(port), { "/livez": 200, "/readyz": 200, "/metrics": 200, "/app": 404 })
        })
      )
      yield* buildWith(serveHealth("worker"), { PORT: String(port), MANAGEMENT_PORT: String(management) })
      assert.deepStrictEqual(yield* statuses(management), {
        "/livez": 200,
        "/readyz": 200,
        "/metrics": 200,
        "/app": 404
      })
      assert.strictEqual(yield* status(port, "/livez"), "refused")
    }).pipe(Effect.scoped)
  )

  const refused = [
    {
      name: "malformed",
      env: { PORT: "8080", MANAGEMENT_PORT: "90x" },
      message: 'config MANAGEMENT_PORT (environment variable MANAGEMENT_PORT): "90x" is not a port number (1-65535)'
    },
    {
      name: "equal to PORT",
      env: { PORT: "8080", MANAGEMENT_PORT: "8080" },
      message:
        "config MANAGEMENT_PORT (environment variable MANAGEMENT_PORT): 8080 is also PORT; MANAGEMENT_PORT must differ from PORT"
    },
    {
      name: "equal to the component's default PORT",
      env: { MANAGEMENT_PORT: "8082" },
      message:
        "config MANAGEMENT_PORT (environment variable MANAGEMENT_PORT): 8082 is also PORT; MANAGEMENT_PORT must differ from PORT"
    }
  ]
  for (const { name, env, message } of refused) {
    it.live(`${name}: the component does not start, and the one line says why`, () =>
      Effect.gen(function* () {
        const component = env.PORT === undefined ? serveHealth("worker") : serveHttp("vote", AppRoute)
        const error = yield* Effect.flip(buildWith(component, env))
        assert.strictEqual(error.message, message)
      }).pipe(Effect.scoped)
    )
  }
})

describe("MAX_CONNECTIONS and the listening address", () => {
  it.live("a malformed MAX_CONNECTIONS stops the component with its one line", () =>
    Effect.gen(function* () {
      for (const raw of ["0", "many", "2048.5", "1000001"]) {
        const error = yield* Effect.flip(buildWith(serveHttp("vote", AppRoute), { PORT: "8080", MAX_CONNECTIONS: raw }))
        assert.strictEqual(
          error.message,
          `config MAX_CONNECTIONS (environment variable MAX_CONNECTIONS): "${raw}" is not a whole number from 1 to 1000000`
        )
      }
    }).pipe(Effect.scoped)
  )

  it.live("ListenHost binds every listener to that address only; unset, every interface", () =>
    Effect.gen(function* () {
      const [port, management] = yield* twoPorts
      // 127.0.0.2 is loopback too on Linux: a listener bound there is not on 127.0.0.1.
      yield* buildWith(serveHttp("vote", AppRoute).pipe(Layer.provide(Layer.succeed(ListenHost, "127.0.0.2"))), {
        PORT: String(port),
        MANAGEMENT_PORT: String(management)
      })
      assert.strictEqual(yield* status(port, "/app"), "refused")
      assert.strictEqual(yield* status(management, "/livez"), "refused")
      const at = (url: string) => Effect.promise(() => fetch(url).then((response) => response.status))
      assert.strictEqual(yield* at(`http://127.0.0.2:${port}/app`), 200)
      assert.strictEqual(yield* at(`http://127.0.0.2:${management}/livez`), 200)
      const [other] = yield* twoPorts
      yield* buildWith(serveHttp("vote", AppRoute), { PORT: String(other) })
      assert.strictEqual(yield* status(other, "/app"), 200)
    }).pipe(Effect.scoped)
  )
})

describe("fast routes", () => {
  // Registers, like the vote service's fast POST /api/vote, a route on Node's objects; this one throws.
  const ThrowingFastRoute = Layer.effectDiscard(
    Effect.map(FastRoutes, (fast) =>
      fast.add("GET", "/boom", () => {
        throw new Error("a bug in a fast route")
      })
    )
  )

  it.live("a fast route that throws costs its one request a 500, not the process; the server goes on", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      yield* buildWith(serveHttp("vote", Layer.merge(AppRoute, ThrowingFastRoute)), { PORT: String(port) })
      assert.strictEqual(yield* status(port, "/boom"), 500)
      assert.strictEqual(yield* status(port, "/app"), 200)
      assert.strictEqual(yield* status(port, "/boom"), 500)
    }).pipe(Effect.scoped)
  )
})
