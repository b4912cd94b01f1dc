import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import {
  logLevelConfig,
  managementPortConfig,
  pollConfig,
  portConfig,
  redisConfig,
  redisKeyPrefixConfig
} from "../src/AppConfig.ts"
import { ConfigSources } from "../src/ConfigSources.ts"
import { postgresConfig } from "../src/PostgresConfig.ts"

/** A config dir and a secrets dir holding these files, removed after the test. */
const withDirs = (
  files: { readonly config?: Record<string, string>; readonly secrets?: Record<string, string> },
  env: Record<string, string> = {}
) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "voting-config-"))),
    (root) => Effect.sync(() => rmSync(root, { recursive: true, force: true }))
  ).pipe(
    Effect.map((root) => {
      const configDir = join(root, "config")
      const secretsDir = join(root, "secrets")
      writeFiles(configDir, files.config ?? {})
      writeFiles(secretsDir, files.secrets ?? {})
      return { configDir, secretsDir, sources: ConfigSources.layerFrom({ configDir, secretsDir, env }) }
    })
  )

const writeFiles = (dir: string, files: Record<string, string>) => {
  mkdirSync(dir, { recursive: true })
  for (const [key, value] of Object.entries(files)) writeFileSync(join(dir, key), value)
}

describe("configuration", () => {
  it.effect("reads CONFIG_DIR first, then SECRETS_DIR, then the environment", () =>
    Effect.gen(function* () {
      const { sources } = yield* withDirs(
        {
          config: { POLL_TITLE: "From the ConfigMap\n" },
          secrets: { POLL_TITLE: "From the Secret", LOG_LEVEL: "warn" }
        },
        { POLL_TITLE: "From env", LOG_LEVEL: "error", PORT: "9000" }
      )
      const poll = yield* pollConfig.pipe(Effect.provide(sources))
      assert.strictEqual(poll.title, "From the ConfigMap")
      assert.strictEqual(yield* logLevelConfig.pipe(Effect.provide(sources)), "Warn")
      assert.strictEqual(yield* portConfig("vote").pipe(Effect.provide(sources)), 9000)
    }).pipe(Effect.scoped)
  )

  it.effect("falls back to the contract's defaults", () =>
    Effect.gen(function* () {
      const { sources } = yield* withDirs({})
      const poll = yield* pollConfig.pipe(Effect.provide(sources))
      assert.strictEqual(poll.title, "Cats vs Dogs")
      assert.deepStrictEqual(
        poll.options.map((o) => `${o.id}=${o.label}`),
        ["a=Cats", "b=Dogs"]
      )
      assert.strictEqual(yield* portConfig("result").pipe(Effect.provide(sources)), 8081)
      assert.strictEqual(yield* portConfig("worker").pipe(Effect.provide(sources)), 8082)
      const redis = yield* redisConfig.pipe(Effect.provide(sources))
      assert.strictEqual(Redacted.value(redis.url), "redis://127.0.0.1:6379")
    }).pipe(Effect.scoped)
  )

  it.effect("names the key, the place and the problem of a malformed value", () =>
    Effect.gen(function* () {
      const { sources, configDir } = yield* withDirs({ config: { POLL_OPTIONS: "a=Cats" } }, { PORT: "http" })
      const pollError = yield* pollConfig.pipe(Effect.provide(sources), Effect.flip)
      assert.strictEqual(
        pollError.message,
        `config POLL_OPTIONS (file ${configDir}/POLL_OPTIONS): expected 2 to 8 options, found 1`
      )
      const portError = yield* portConfig("vote").pipe(Effect.provide(sources), Effect.flip)
      assert.strictEqual(
        portError.message,
        'config PORT (environment variable PORT): "http" is not a port number (1-65535)'
      )
    }).pipe(Effect.scoped)
  )

  it.effect("never repeats a secret value in an error", () =>
    Effect.gen(function* () {
      const secretUrl = "postgres-ish://admin:hunter2@db:5432/votes"
      const { sources } = yield* withDirs({ secrets: { DATABASE_URL: secretUrl } })
      const error = yield* postgresConfig.pipe(Effect.provide(sources), Effect.flip)
      assert.include(error.message, "DATABASE_URL")
      assert.notInclude(error.message, "hunter2")
    }).pipe(Effect.scoped)
  )

  it.effect("reads the database password again for every new connection", () =>
    Effect.gen(function* () {
      const { sources, secretsDir } = yield* withDirs({
        config: { POSTGRES_HOST: "db", POSTGRES_USER: "voting" },
        secrets: { POSTGRES_PASSWORD: "first" }
      })
      const settings = yield* postgresConfig.pipe(Effect.provide(sources))
      assert.strictEqual(settings.host, "db")
      assert.strictEqual(settings.username, "voting")
      assert.isDefined(settings.password)
      assert.strictEqual(Redacted.value(yield* settings.password!), "first")
      writeFileSync(join(secretsDir, "POSTGRES_PASSWORD"), "rotated\n")
      assert.strictEqual(Redacted.value(yield* settings.password!), "rotated")
    }).pipe(Effect.scoped)
  )

  it.effect("says what is wrong with each key, in words that never repeat a secret", () =>
    Effect.gen(function* () {
      const { sources, configDir } = yield* withDirs(
        { config: { POLL_OPTIONS: "a=Cats,a=Dogs", POSTGRES_USER: "" } },
        {
          PORT: "65536",
          LOG_LEVEL: "Constructor",
          REDIS_URL: "http://user:hunter2@127.0.0.1:6379",
          REDIS_KEY_PREFIX: "my prefix",
          POSTGRES_HOST: "db",
          POLL_TITLE: "x".repeat(201)
        }
      )
      const messageOf = <A>(config: Effect.Effect<A, { readonly message: string }, ConfigSources>) =>
        config.pipe(
          Effect.provide(sources),
          Effect.flip,
          Effect.map((error) => error.message)
        )
      assert.deepStrictEqual(
        [
          yield* messageOf(portConfig("worker")),
          yield* messageOf(logLevelConfig),
          yield* messageOf(redisConfig),
          yield* messageOf(redisKeyPrefixConfig),
          yield* messageOf(postgresConfig),
          yield* messageOf(pollConfig)
        ],
        [
          'config PORT (environment variable PORT): "65536" is not a port number (1-65535)',
          'config LOG_LEVEL (environment variable LOG_LEVEL): "Constructor" is not one of debug, info, warn, error',
          "config REDIS_URL (environment variable REDIS_URL): the value must start with redis: or rediss://",
          "config REDIS_KEY_PREFIX (environment variable REDIS_KEY_PREFIX): must be 1-64 of A-Z a-z 0-9 : _ -",
          `config POSTGRES_USER (file ${configDir}/POSTGRES_USER): is empty`,
          "config POLL_TITLE (environment variable POLL_TITLE): must be 1 to 200 characters"
        ]
      )
    }).pipe(Effect.scoped)
  )

  it.effect("refuses a MANAGEMENT_PORT that is malformed or equal to PORT, and reads it as absent when unset", () =>
    Effect.gen(function* () {
      const { sources, configDir } = yield* withDirs({ config: { MANAGEMENT_PORT: "8081" } })
      const equal = yield* managementPortConfig(8081).pipe(Effect.provide(sources), Effect.flip)
      assert.strictEqual(
        equal.message,
        `config MANAGEMENT_PORT (file ${configDir}/MANAGEMENT_PORT): 8081 is also PORT; MANAGEMENT_PORT must differ from PORT`
      )
      assert.deepStrictEqual(yield* managementPortConfig(8080).pipe(Effect.provide(sources)), Option.some(8081))
      const { sources: malformed } = yield* withDirs({}, { MANAGEMENT_PORT: "9090x" })
      assert.strictEqual(
        (yield* managementPortConfig().pipe(Effect.provide(malformed), Effect.flip)).message,
        'config MANAGEMENT_PORT (environment variable MANAGEMENT_PORT): "9090x" is not a port number (1-65535)'
      )
      const { sources: unset } = yield* withDirs({})
      assert.deepStrictEqual(yield* managementPortConfig(8080).pipe(Effect.provide(unset)), Option.none())
    }).pipe(Effect.scoped)
  )
})
