import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { ConfigSources, Health } from "@voting/platform"
import { redisUrl } from "@voting/test-support/globalSetup"
import { freePort } from "@voting/test-support/Processes"
import { testDatabase } from "@voting/test-support/TestDatabase"
import { deleteKeys, testPrefix } from "@voting/test-support/TestRedis"
import { Effect, Layer, Redacted } from "effect"
import { chooseBackends } from "../src/Backends.ts"
import { StandaloneApp } from "../src/StandaloneServer.ts"

/** Retries a request until it gives an answer, for at most 15 s (the app starts in the background). */
const eventually = async <A>(attempt: () => Promise<A | undefined>): Promise<A> => {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const answer = await attempt().catch(() => undefined)
    if (answer !== undefined) return answer
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("no answer within 15 s")
}

const backendsFor = (env: Record<string, string>) =>
  chooseBackends.pipe(Effect.provide(ConfigSources.layerFrom({ env })))

describe("npm start's choice of backends", () => {
  it.effect("is embedded with nothing configured", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* backendsFor({}), { queue: "in-process", store: "embedded" })
    })
  )

  it.effect("uses the real servers whose keys are given, each on its own", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* backendsFor({ REDIS_URL: "redis://r:6379" }), { queue: "redis", store: "embedded" })
      assert.deepStrictEqual(yield* backendsFor({ DATABASE_URL: "postgres://p/db" }), {
        queue: "in-process",
        store: "postgres"
      })
      assert.deepStrictEqual(yield* backendsFor({ REDIS_HOST: "r", POSTGRES_HOST: "p" }), {
        queue: "redis",
        store: "postgres"
      })
    })
  )
})

describe("npm start against real Redis and PostgreSQL", () => {
  it.live(
    "takes a vote on the vote port and shows it on the result port, stored in the given database",
    () =>
      Effect.gen(function* () {
        const database = yield* testDatabase
        const prefix = testPrefix()
        yield* Effect.addFinalizer(() => Effect.orDie(deleteKeys(prefix)))
        const env = { REDIS_URL: redisUrl, DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" }
        const settings = {
          dataDir: "/nonexistent-embedded-data-is-not-used",
          host: "127.0.0.1",
          votePort: yield* Effect.promise(freePort),
          resultPort: yield* Effect.promise(freePort)
        }
        const config = ConfigSources.layerFrom({ env })
        const backends = yield* chooseBackends.pipe(Effect.provide(config))
        assert.deepStrictEqual(backends, { queue: "redis", store: "postgres" })
        yield* Layer.launch(StandaloneApp(settings, backends)).pipe(
          Effect.provide(Layer.merge(Health.layer, config)),
          Effect.forkScoped
        )

        const vote = yield* Effect.promise(() =>
          eventually(() =>
            fetch(`http://127.0.0.1:${settings.votePort}/`, {
              method: "POST",
              redirect: "manual",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body: "vote=b"
            })
          )
        )
        assert.strictEqual(vote.status, 303)

        const total = yield* Effect.promise(() =>
          eventually(async () => {
            const response = await fetch(`http://127.0.0.1:${settings.resultPort}/api/results`)
            const body = (await response.json()) as { total: number }
            return body.total === 1 ? body.total : undefined
          })
        )
        assert.strictEqual(total, 1)

        const rows = yield* Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          return yield* sql<{ option_id: string }>`SELECT option_id FROM votes`
        }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(database.url), maxConnections: 1 })))
        assert.deepStrictEqual(
          rows.map((row) => row.option_id),
          ["b"]
        )
      }).pipe(Effect.scoped),
    60_000
  )
})
