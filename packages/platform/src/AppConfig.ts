import { defaultPoll, InvalidConfig, Poll, type PollOption, parsePollOptions } from "@voting/domain"
import { Effect, type LogLevel, Option, Redacted } from "effect"
import type { ConfigKey } from "./ConfigKeys.ts"
import { ConfigSources } from "./ConfigSources.ts"
import { defaultPorts } from "./HealthPaths.ts"

/** Parses a raw value, or says in words what is wrong with it. */
type Parser<A> = (raw: string) => A | ParseProblem

class ParseProblem {
  readonly problem: string
  constructor(problem: string) {
    this.problem = problem
  }
}
const problem = (text: string) => new ParseProblem(text)

/**
 * Reads one key through the configured sources. Secret keys never echo their
 * value into the error.
 */
const read = <A>(key: ConfigKey, parse: Parser<A>, fallback: Option.Option<A>) =>
  Effect.gen(function* () {
    const sources = yield* ConfigSources
    const found = yield* sources.lookup(key)
    if (Option.isNone(found)) {
      if (Option.isSome(fallback)) return fallback.value
      return yield* new InvalidConfig({ key, source: sources.describe(key), problem: "is missing" })
    }
    const parsed = parse(found.value.value)
    if (parsed instanceof ParseProblem) {
      return yield* new InvalidConfig({ key, source: found.value.source, problem: parsed.problem })
    }
    return parsed
  })

const optional = <A>(key: ConfigKey, parse: Parser<A>) =>
  Effect.gen(function* () {
    const sources = yield* ConfigSources
    const found = yield* sources.lookup(key)
    if (Option.isNone(found)) return Option.none<A>()
    const parsed = parse(found.value.value)
    if (parsed instanceof ParseProblem) {
      return yield* new InvalidConfig({ key, source: found.value.source, problem: parsed.problem })
    }
    return Option.some(parsed)
  })

const asPort: Parser<number> = (raw) => {
  const port = Number(raw)
  return /^\d{1,5}$/.test(raw) && port > 0 && port < 65536
    ? port
    : problem(`"${raw.slice(0, 20)}" is not a port number (1-65535)`)
}

const asNonEmpty: Parser<string> = (raw) => (raw.length > 0 ? raw : problem("is empty"))

const asUrl =
  (protocols: ReadonlyArray<string>, secret: boolean): Parser<URL> =>
  (raw) => {
    const shown = secret ? "the value" : `"${raw.slice(0, 60)}"`
    if (!URL.canParse(raw)) return problem(`${shown} is not a URL`)
    const url = new URL(raw)
    return protocols.includes(url.protocol) ? url : problem(`${shown} must start with ${protocols.join(" or ")}//`)
  }

export type Component = keyof typeof defaultPorts

export const portConfig = (component: Component) => read("PORT", asPort, Option.some(defaultPorts[component]))

/**
 * MANAGEMENT_PORT, when set: the port that serves /livez, /readyz and /metrics
 * instead of PORT, so that whatever routes PORT (the Ingress) never exposes
 * them. Given the component's PORT, a value equal to it is refused.
 */
export const managementPortConfig = (port?: number) =>
  optional("MANAGEMENT_PORT", (raw) => {
    const parsed = asPort(raw)
    return parsed === port ? problem(`${parsed} is also PORT; MANAGEMENT_PORT must differ from PORT`) : parsed
  })

const logLevels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<
  string,
  LogLevel.LogLevel
>

export const logLevelConfig = read(
  "LOG_LEVEL",
  (raw): LogLevel.LogLevel | ParseProblem =>
    logLevels[raw.toLowerCase() as keyof typeof logLevels] ??
    problem(`"${raw.slice(0, 20)}" is not one of debug, info, warn, error`),
  Option.some<LogLevel.LogLevel>("Info")
)

/** How to reach Redis: a URL, or a host and port. */
export const redisConfig = Effect.gen(function* () {
  const url = yield* optional("REDIS_URL", asUrl(["redis:", "rediss:"], true))
  if (Option.isSome(url)) return { url: Redacted.make(url.value.href) }
  const host = yield* optional("REDIS_HOST", asNonEmpty)
  const port = yield* read("REDIS_PORT", asPort, Option.some(6379))
  return { url: Redacted.make(`redis://${Option.getOrElse(host, () => "127.0.0.1")}:${port}`) }
})

/** The key prefix for everything this app keeps in Redis; lets runs share a server. */
export const redisKeyPrefixConfig = read(
  "REDIS_KEY_PREFIX",
  (raw) => (/^[A-Za-z0-9:_-]{1,64}$/.test(raw) ? raw : problem("must be 1-64 of A-Z a-z 0-9 : _ -")),
  Option.some("voting:")
)

export interface PostgresSettings {
  readonly url?: Redacted.Redacted<string>
  readonly host?: string
  readonly port?: number
  readonly database?: string
  readonly username?: string
  /** Read again for every new connection, so a rotated secret file takes effect without a restart. */
  readonly password?: Effect.Effect<Redacted.Redacted<string>>
}

export const defaultDatabaseUrl = "postgres://postgres@127.0.0.1:5432/postgres"

/** How to reach PostgreSQL: DATABASE_URL, or POSTGRES_* keys with the password from the Secret. */
export const postgresConfig: Effect.Effect<PostgresSettings, InvalidConfig, ConfigSources> = Effect.gen(function* () {
  const sources = yield* ConfigSources
  const url = yield* optional("DATABASE_URL", asUrl(["postgres:", "postgresql:"], true))
  if (Option.isSome(url)) return { url: Redacted.make(url.value.href) }
  const host = yield* optional("POSTGRES_HOST", asNonEmpty)
  if (Option.isNone(host)) return { url: Redacted.make(defaultDatabaseUrl) }
  const port = yield* read("POSTGRES_PORT", asPort, Option.some(5432))
  const database = yield* read("POSTGRES_DB", asNonEmpty, Option.some("postgres"))
  const username = yield* read("POSTGRES_USER", asNonEmpty, Option.some("postgres"))
  // Checked once at start so a missing secret stops the component with a clear line.
  const initialPassword = yield* optional("POSTGRES_PASSWORD", asNonEmpty)
  const password = sources.lookup("POSTGRES_PASSWORD").pipe(
    Effect.map((found) =>
      Redacted.make(
        Option.getOrElse(
          Option.map(found, (f) => f.value),
          () => ""
        )
      )
    ),
    Effect.orElseSucceed(() => Redacted.make(""))
  )
  return {
    host: host.value,
    port,
    database,
    username,
    ...(Option.isSome(initialPassword) ? { password } : {})
  }
})

/** The poll as configured now: title and options. */
export const pollConfig = Effect.gen(function* () {
  const title = yield* read(
    "POLL_TITLE",
    (raw) => (raw.length >= 1 && raw.length <= 200 ? raw : problem("must be 1 to 200 characters")),
    Option.some(defaultPoll.title)
  )
  const options = yield* read("POLL_OPTIONS", asPollOptions, Option.some(defaultPollOptions))
  return new Poll({ title, options })
})

const asPollOptions: Parser<ReadonlyArray<PollOption>> = (raw) => {
  const parsed = parsePollOptions(raw)
  return typeof parsed === "string" ? problem(parsed) : parsed
}

const defaultPollOptions = asPollOptions(defaultPoll.options) as ReadonlyArray<PollOption>
