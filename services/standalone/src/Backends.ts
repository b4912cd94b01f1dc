import { ConfigSources, PostgresConnection, RedisConnection, retryWithBackoff } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import { runMigrations, VoteStore } from "@voting/store"
import { Duration, Effect, Layer, Option } from "effect"
import { layerPglite } from "./EmbeddedVoteStore.ts"

/** Which queue and store `npm start` uses, for the layers and for the banner. */
export interface Backends {
  readonly queue: "in-process" | "redis"
  readonly store: "embedded" | "postgres"
}

/**
 * Real servers when any of their keys is given (in the environment or in
 * CONFIG_DIR / SECRETS_DIR, as the services read them); embedded otherwise.
 */
export const chooseBackends = Effect.gen(function* () {
  const sources = yield* ConfigSources
  const given = (...keys: ReadonlyArray<"REDIS_URL" | "REDIS_HOST" | "DATABASE_URL" | "POSTGRES_HOST">) =>
    Effect.map(
      Effect.forEach(keys, (key) => sources.lookup(key)),
      (found) => found.some(Option.isSome)
    )
  return {
    queue: (yield* given("REDIS_URL", "REDIS_HOST")) ? "redis" : "in-process",
    store: (yield* given("DATABASE_URL", "POSTGRES_HOST")) ? "postgres" : "embedded"
  } satisfies Backends as Backends
})

/** The separate services apply the schema in an init container; here the process does it first. */
const migrateFirst = Layer.effectDiscard(
  runMigrations.pipe(retryWithBackoff("migration attempt failed; retrying", { upTo: Duration.seconds(30) }))
)

export const queueLayer = (backends: Backends) =>
  backends.queue === "redis"
    ? VoteQueue.layerRedis.pipe(Layer.provide(RedisConnection.layerConfig("standalone")))
    : VoteQueue.layerMemory

export const storeLayer = (backends: Backends, dataDir: string) =>
  backends.store === "postgres"
    ? VoteStore.layerPg.pipe(
        Layer.provide(migrateFirst),
        Layer.provide(PostgresConnection.layerConfig({ applicationName: "voting-standalone" }))
      )
    : layerPglite(dataDir)
