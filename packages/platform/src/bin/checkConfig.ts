/**
 * `npm run check-config [-- --require-secret[=KEY,...]]`: reads every key the
 * way the components do and exits 1 with one line naming the first key that
 * is missing or malformed, where it was looked for, and how to fix it. The
 * worker's and the result's first init containers run it, so a missing Secret
 * shows up as one clear line instead of a pod stuck in ContainerCreating.
 * `--require-secret` alone requires POSTGRES_PASSWORD; with keys, those (each
 * pod requires the passwords of the database roles it uses).
 */
import { InvalidConfig } from "@voting/domain"
import { Effect, Option } from "effect"
import {
  logLevelConfig,
  managementPortConfig,
  pollConfig,
  redisConfig,
  redisKeyPrefixConfig,
  resultPublicUrlConfig,
  resultStreamLimitsConfig,
  trustedProxiesConfig,
  votePublicUrlConfig,
  voteRateLimitConfig
} from "../AppConfig.ts"
import { type ConfigKey, secretKeys } from "../ConfigKeys.ts"
import { ConfigSources } from "../ConfigSources.ts"
import { databaseRolesConfig, postgresConfig } from "../PostgresConfig.ts"
import { tracingConfig } from "../TracingConfig.ts"

/** The keys `--require-secret[=KEY,...]` asks for: bare, POSTGRES_PASSWORD. */
const requested = process.argv
  .slice(2)
  .flatMap((arg) =>
    arg === "--require-secret"
      ? ["POSTGRES_PASSWORD"]
      : arg.startsWith("--require-secret=")
        ? arg.slice("--require-secret=".length).split(",")
        : []
  )

const secretHint = (key: ConfigKey) =>
  `create it: kubectl -n voting create secret generic voting-db --from-literal=${key}="$(openssl rand -hex 24)" ... (README.md "Without Tilt" has every key; tilt up does this for you)`

const check = Effect.gen(function* () {
  yield* logLevelConfig
  // Its format only: PORT, which it must differ from, is each component's own.
  yield* managementPortConfig()
  yield* redisConfig
  yield* redisKeyPrefixConfig
  yield* postgresConfig
  yield* databaseRolesConfig
  yield* resultPublicUrlConfig()
  yield* votePublicUrlConfig()
  yield* trustedProxiesConfig
  yield* voteRateLimitConfig
  yield* resultStreamLimitsConfig
  yield* tracingConfig("check-config")
  const poll = yield* pollConfig
  const unknown = requested.filter((key) => !(secretKeys as ReadonlyArray<string>).includes(key))
  if (unknown.length > 0) {
    return yield* Effect.fail({
      message: `--require-secret: ${unknown.join(", ")} is not a secret key (${secretKeys.join(", ")})`
    })
  }
  const required = requested as ReadonlyArray<ConfigKey>
  const sources = yield* ConfigSources
  for (const key of required) {
    const password = yield* sources.lookup(key)
    if (Option.isNone(password)) {
      return yield* new InvalidConfig({ key, source: sources.describe(key), problem: `is missing; ${secretHint(key)}` })
    }
  }
  return poll
})

const line = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`)

Effect.runPromise(
  check.pipe(
    Effect.provide(ConfigSources.layer),
    Effect.match({
      onFailure: (error) => {
        line({ level: "FATAL", component: "check-config", message: error.message })
        process.exitCode = 1
      },
      onSuccess: (poll) =>
        line({
          level: "INFO",
          component: "check-config",
          message: `config ok: "${poll.title}" with ${poll.options.length} options`
        })
    })
  )
)
