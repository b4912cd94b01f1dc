/**
 * The keys every component reads, each with its codec and default. The
 * vocabulary they are read with is ConfigValues.ts; the PostgreSQL keys are
 * PostgresConfig.ts.
 */
import { defaultPoll, Poll, PollOption, parsePollOptions } from "@voting/domain"
import { Effect, type LogLevel, Option, Redacted, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { TrustedProxies, TrustedProxiesValue } from "./ClientAddress.ts"
import { defaultPorts } from "./ConfigKeys.ts"
import { NonEmpty, optional, PortNumber, read, refuse, UrlOf, type ValueCodec, WholeNumber } from "./ConfigValues.ts"

export { decodeValue, PortNumber, type ValueCodec } from "./ConfigValues.ts"

export type Component = keyof typeof defaultPorts

export const portConfig = (component: Component) => read("PORT", PortNumber, defaultPorts[component])

/**
 * MANAGEMENT_PORT, when set: the port that serves /livez, /readyz and /metrics
 * instead of PORT, so that whatever routes PORT (the Ingress) never exposes
 * them. Given the component's PORT, a value equal to it is refused.
 */
export const managementPortConfig = (port?: number) =>
  optional(
    "MANAGEMENT_PORT",
    PortNumber.check(
      Schema.makeFilter((managementPort) =>
        managementPort === port ? `${managementPort} is also PORT; MANAGEMENT_PORT must differ from PORT` : true
      )
    )
  )

/**
 * The most connections one listener holds at once (each component's PORT
 * server, and its MANAGEMENT_PORT server, has its own). A connection over the
 * cap is closed as soon as it is accepted, so a flood of idle or slow sockets
 * costs a bounded amount of memory and file descriptors. 2048: twice the
 * 1,000 event streams the bench holds on one result process; an idle
 * connection costs a Node server 16-25 KiB (measured), so 2048 of them take
 * 35-50 MiB, within a 256 MiB pod beside its ~100 MiB at rest. Behind the
 * Ingress a replica sees far fewer: the proxy reuses its connections.
 */
export const defaultMaxConnections = 2048
export const maxConnectionsConfig = read("MAX_CONNECTIONS", WholeNumber(1, 1_000_000), defaultMaxConnections)

const logLevels = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<
  string,
  LogLevel.LogLevel
>
type LogLevelName = keyof typeof logLevels

/** One of debug, info, warn, error, in any case. */
const LogLevelName: ValueCodec<LogLevel.LogLevel> = Schema.String.check(
  refuse((raw) =>
    Object.hasOwn(logLevels, raw.toLowerCase())
      ? undefined
      : `"${raw.slice(0, 20)}" is not one of debug, info, warn, error`
  )
).pipe(
  Schema.decodeTo(
    Schema.Literals(Object.values(logLevels)),
    SchemaTransformation.transform({
      decode: (raw) => logLevels[raw.toLowerCase() as LogLevelName],
      encode: (level) => level.toLowerCase()
    })
  )
)

export const logLevelConfig = read("LOG_LEVEL", LogLevelName, "Info")

/** How to reach Redis: a URL, or a host and port. */
export const redisConfig = Effect.gen(function* () {
  const url = yield* optional("REDIS_URL", UrlOf(["redis:", "rediss:"]))
  if (Option.isSome(url)) return { url: Redacted.make(url.value.href) }
  const host = yield* optional("REDIS_HOST", NonEmpty)
  const port = yield* read("REDIS_PORT", PortNumber, 6379)
  return { url: Redacted.make(`redis://${Option.getOrElse(host, () => "127.0.0.1")}:${port}`) }
})

/** The key prefix for everything this app keeps in Redis; lets runs share a server. */
export const redisKeyPrefixConfig = read(
  "REDIS_KEY_PREFIX",
  Schema.String.check(Schema.isPattern(/^[A-Za-z0-9:_-]{1,64}$/, { message: "must be 1-64 of A-Z a-z 0-9 : _ -" })),
  "voting:"
)

/** `id=Label` pairs separated by commas, e.g. `a=Cats,b=Dogs`: 2 to 8 options with distinct ids. */
const PollOptionList = Schema.Array(PollOption)
const PollOptions = Schema.String.pipe(
  Schema.decodeTo(
    PollOptionList,
    SchemaTransformation.transformEffect<typeof PollOptionList.Encoded, string>({
      decode: (raw) => {
        const parsed = parsePollOptions(raw)
        return typeof parsed === "string"
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: parsed }))
          : Effect.succeed(parsed)
      },
      encode: (options) => Effect.succeed(options.map((option) => `${option.id}=${option.label}`).join(","))
    })
  )
)

const defaultPollOptions = Schema.decodeSync(PollOptions)(defaultPoll.options)

/** The poll as configured now: title and options. */
export const pollConfig = Effect.gen(function* () {
  const title = yield* read(
    "POLL_TITLE",
    Schema.String.check(Schema.isBetweenLength(1, 200, { message: "must be 1 to 200 characters" })),
    defaultPoll.title
  )
  const options = yield* read("POLL_OPTIONS", PollOptions, defaultPollOptions)
  return new Poll({ title, options })
})

/** A page's address on this machine at `port`: where a link points when nothing configures it. */
export const localPageUrl = (port: number) => new URL(`http://localhost:${port}/`)

/** An `http://` or `https://` URL a voter's browser opens. */
const PublicUrl = UrlOf(["http:", "https:"])

/**
 * Where each page links to the other, as voters reach it: RESULT_PUBLIC_URL is
 * the results page, for the ballot's link (read by vote); VOTE_PUBLIC_URL is
 * the ballot, for the results page's link (read by result). Read once at start;
 * when unset, `fallback`, by default the other component's default port here.
 */
export const resultPublicUrlConfig = (fallback = localPageUrl(defaultPorts.result)) =>
  read("RESULT_PUBLIC_URL", PublicUrl, fallback)
export const votePublicUrlConfig = (fallback = localPageUrl(defaultPorts.vote)) =>
  read("VOTE_PUBLIC_URL", PublicUrl, fallback)

/**
 * TRUSTED_PROXIES: the peers whose X-Forwarded-For names the client (see
 * ClientAddress.ts). Unset or `none`: nobody's, the socket's peer is the client.
 */
export const trustedProxiesConfig = read("TRUSTED_PROXIES", TrustedProxiesValue, TrustedProxies.none)

/**
 * VOTE_RATE_LIMIT's default: 120 accepted votes a minute from one client
 * address. A class of 30 behind one school NAT shares an address; if every
 * pupil voted and then changed their mind three times within the same minute,
 * that is 120. A real class does less, so it never meets the limit, while one
 * script is held to 2 votes a second instead of thousands.
 */
export const defaultVoteRateLimit = 120

/**
 * VOTE_RATE_LIMIT: votes a minute the vote service accepts from one client
 * address (ClientAddress.ts), as a token bucket holding a minute's worth;
 * `0` turns the limit off.
 */
export const voteRateLimitConfig = read("VOTE_RATE_LIMIT", WholeNumber(0, 1_000_000), defaultVoteRateLimit)

/**
 * RESULT_STREAMS_PER_CLIENT's default: the event streams one client address may
 * hold open on one result process. A class of 30 behind one school NAT, each
 * with the results page open in up to three tabs, plus the teacher's screen,
 * stays under 100; one client can take no more than a sixth of the process (RESULT_STREAMS_MAX).
 */
export const defaultResultStreamsPerClient = 100

/**
 * RESULT_STREAMS_MAX's default: event streams one result process holds open.
 * Measured: the result process (production bundle) is 100 MiB resident idle
 * and 202 MiB with 1,000 streams open (npm run bench --only=streams), about
 * 102 KiB a stream; from the sources with the security test's 1 KiB events,
 * 117-120 KiB a stream (156 MiB idle, 269 MiB at 1,000). At 120 KiB, 600
 * streams are 70 MiB: about 170 MiB in all, two thirds of the pod's 256 MiB
 * limit, leaving room for the heap to grow and for votes to be read meanwhile.
 */
export const defaultResultStreamsMax = 600

/** RESULT_STREAMS_PER_CLIENT and RESULT_STREAMS_MAX: caps on open event streams (ClientSlots); `0` turns one off. */
export const resultStreamLimitsConfig = Effect.all({
  perClient: read("RESULT_STREAMS_PER_CLIENT", WholeNumber(0, 1_000_000), defaultResultStreamsPerClient),
  max: read("RESULT_STREAMS_MAX", WholeNumber(0, 1_000_000), defaultResultStreamsMax)
})
