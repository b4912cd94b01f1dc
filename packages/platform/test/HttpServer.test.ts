import { get } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { freePort } from "../../../test/support/Processes.ts"
import { ConfigSources } from "../src/ConfigSources.ts"
import { Health } from "../src/Health.ts"
import { serveHttp } from "../src/HttpServer.ts"

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
