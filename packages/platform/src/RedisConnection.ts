import { Context, Duration, Effect, Layer, Redacted, Schema, type Scope } from "effect"
import { Redis, ReplyError } from "ioredis"
import { redisConfig, redisKeyPrefixConfig } from "./AppConfig.ts"

/**
 * The error code of a reply Redis refused a command with: the first word of
 * ioredis's ReplyError (WRONGTYPE, NOGROUP, BUSYGROUP, ...). Undefined for
 * anything that is not a reply, such as a connection that failed.
 */
export const replyErrorCode = (error: unknown): string | undefined =>
  error instanceof ReplyError ? (error as Error).message.split(" ", 1)[0] : undefined

/** Replies after which the same command will fail again. */
const permanentCodes: ReadonlySet<string> = new Set([
  "WRONGTYPE",
  "ERR",
  "NOSCRIPT",
  "NOPERM",
  "NOAUTH",
  "WRONGPASS",
  "EXECABORT"
])

/** Connection trouble and server states that pass are worth retrying; reply errors are not. */
export const isRetryable = (error: unknown): boolean => {
  const code = replyErrorCode(error)
  return code === undefined || !permanentCodes.has(code)
}

/**
 * A failed Redis command, with what ioredis failed with as its cause.
 * `retryable` says whether the same command may succeed later (the server was
 * unreachable, loading or busy) or never will (a wrong type, a syntax error).
 */
export class RedisError extends Schema.TaggedError<RedisError>()("RedisError", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  /** The Redis error code of the reply (see replyErrorCode); undefined when there was no reply. */
  get code(): string | undefined {
    return replyErrorCode(this.cause)
  }

  get retryable(): boolean {
    return isRetryable(this.cause)
  }

  override get message(): string {
    return `redis ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** How long a component waits for Redis at start before it starts anyway and reports unready. */
const initialConnectTimeout = Duration.seconds(3)

export const toRedisError = (operation: string) => (cause: unknown) => new RedisError({ operation, cause })

export interface RedisOptions {
  readonly url: Redacted.Redacted<string>
  readonly prefix: string
  /** Shown in `CLIENT LIST`, so an operator can tell the components apart. */
  readonly connectionName: string
}

/**
 * One ioredis client, opened with the scope and closed with it. Commands fail
 * fast while the connection is down (no offline queue), so a caller such as the
 * vote service can answer 503 at once instead of holding the voter's request;
 * the client itself keeps reconnecting with capped backoff.
 */
export class RedisConnection extends Context.Service<
  RedisConnection,
  {
    readonly client: Redis
    readonly prefix: string
    /** Opens another connection with the same settings, for blocking reads. */
    readonly duplicate: Effect.Effect<Redis, never, Scope.Scope>
    readonly ping: Effect.Effect<void, RedisError>
  }
>()("@voting/platform/RedisConnection") {
  static readonly layer = (options: RedisOptions) =>
    Layer.effect(
      RedisConnection,
      Effect.gen(function* () {
        const open = (name: string, { waitWhileDisconnected = false } = {}) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              const client = new Redis(Redacted.value(options.url), {
                connectionName: name,
                // Only a consumer's blocking reads may wait for a reconnect; a voter's request must not.
                enableOfflineQueue: waitWhileDisconnected,
                maxRetriesPerRequest: 0,
                // Concurrent commands (many voters at once) share one write to the socket.
                enableAutoPipelining: true,
                connectTimeout: 2_000,
                // A command the server never answers fails after 2 s (a voter then gets 503). Not on the
                // blocking connection, whose reads wait on purpose.
                ...(waitWhileDisconnected ? {} : { commandTimeout: 2_000 }),
                retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000)
              })
              // ioredis reports every failed reconnect here; the retry loop and readiness say it better.
              client.on("error", () => {})
              return client
            }),
            (client) =>
              Effect.promise(() => client.quit().catch(() => client.disconnect())).pipe(
                Effect.timeoutOrElse({
                  duration: Duration.seconds(1),
                  orElse: () => Effect.sync(() => client.disconnect())
                }),
                Effect.asVoid
              )
          )
        const client = yield* open(options.connectionName)
        // Commands fail fast while disconnected, so give the first connection a moment before
        // anyone uses it. A Redis that is down stays down for readiness to report, not a crash.
        yield* Effect.callback<void>((resume) => {
          if (client.status === "ready") return resume(Effect.void)
          client.once("ready", () => resume(Effect.void))
        }).pipe(Effect.timeoutOption(initialConnectTimeout))
        return RedisConnection.of({
          client,
          prefix: options.prefix,
          duplicate: open(`${options.connectionName}-blocking`, { waitWhileDisconnected: true }),
          ping: Effect.tryPromise({ try: () => client.ping(), catch: toRedisError("PING") }).pipe(Effect.asVoid)
        })
      })
    )

  static readonly layerConfig = (connectionName: string) =>
    Layer.unwrap(
      Effect.gen(function* () {
        const { url } = yield* redisConfig
        const prefix = yield* redisKeyPrefixConfig
        return RedisConnection.layer({ url, prefix, connectionName })
      })
    )
}
