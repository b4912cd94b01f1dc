/**
 * `npm run check-config [-- --require-secret]`: reads every key the way the
 * components do and exits 1 with one line naming the first key that is
 * missing or malformed, where it was looked for, and how to fix it. The
 * worker's first init container runs it, so a missing Secret shows up as one
 * clear line instead of a pod stuck in ContainerCreating.
 */
import { InvalidConfig } from "@voting/domain"
import { Effect, Option } from "effect"
import {
  logLevelConfig,
  managementPortConfig,
  pollConfig,
  postgresConfig,
  redisConfig,
  redisKeyPrefixConfig,
  resultPublicUrlConfig,
  resultStreamLimitsConfig,
  trustedProxiesConfig,
  votePublicUrlConfig,
  voteRateLimitConfig
} from "../AppConfig.ts"
import { ConfigSources } from "../ConfigSources.ts"

const requireSecret = process.argv.includes("--require-secret")

const secretHint =
  'create it: kubectl -n voting create secret generic voting-db --from-literal=POSTGRES_PASSWORD="$(openssl rand -hex 24)" (tilt up does this for you)'

const check = Effect.gen(function* () {
  yield* logLevelConfig
  // Its format only: PORT, which it must differ from, is each component's own.
  yield* managementPortConfig()
  yield* redisConfig
  yield* redisKeyPrefixConfig
  yield* postgresConfig
  yield* resultPublicUrlConfig()
  yield* votePublicUrlConfig()
  yield* trustedProxiesConfig
  yield* voteRateLimitConfig
  yield* resultStreamLimitsConfig
  const poll = yield* pollConfig
  if (requireSecret) {
    const sources = yield* ConfigSources
    const password = yield* sources.lookup("POSTGRES_PASSWORD")
    if (Option.isNone(password)) {
      return yield* new InvalidConfig({
        key: "POSTGRES_PASSWORD",
        source: sources.describe("POSTGRES_PASSWORD"),
        problem: `is missing; ${secretHint}`
      })
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
