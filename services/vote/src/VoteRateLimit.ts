import {
  type ClientRequest,
  requestClientKey,
  TrustedProxies,
  trustedProxiesConfig,
  voteRateLimitConfig
} from "@voting/platform"
import { Context, Effect, Layer, Schema } from "effect"

/** A vote refused because its client has used up its votes for now. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  /** Whole seconds until the client's next vote is taken. */
  retryAfter: Schema.Number,
  perMinute: Schema.Number
}) {}

interface Bucket {
  tokens: number
  /** When `tokens` was last brought up to date, in ms. */
  at: number
}

/**
 * One token bucket per client key: each holds up to `perMinute` tokens and
 * gains `perMinute` a minute; a vote takes one. A client that has been quiet
 * for a minute has a full bucket, the same as one never seen, so its bucket is
 * dropped: at most once a minute, when a new client arrives, every such idle
 * bucket is swept out. The map also never holds more than `maxClients`: when a
 * new client finds it full after the sweep, the longest-held buckets go first.
 * Taking a token from a known client is one Map lookup and arithmetic.
 */
export class TokenBuckets {
  readonly capacity: number
  /** Tokens gained per ms. */
  private readonly perMs: number
  /** How long an empty bucket takes to fill: a bucket idle this long is full. */
  private readonly refillMs: number
  private readonly maxClients: number
  private readonly buckets = new Map<string, Bucket>()
  private nextSweep = Number.NEGATIVE_INFINITY

  constructor(perMinute: number, options: { readonly maxClients?: number } = {}) {
    this.capacity = perMinute
    this.perMs = perMinute / 60_000
    this.refillMs = 60_000
    this.maxClients = options.maxClients ?? defaultMaxClients
  }

  /** How many clients have a bucket now. */
  get size(): number {
    return this.buckets.size
  }

  /** Takes a token for `key` at `now` (ms): 0 when it was there, else the ms until one will be. */
  take(key: string, now: number): number {
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      if (now >= this.nextSweep || this.buckets.size >= this.maxClients) this.sweep(now)
      bucket = { tokens: this.capacity, at: now }
      this.buckets.set(key, bucket)
    } else if (now > bucket.at) {
      const tokens = bucket.tokens + (now - bucket.at) * this.perMs
      bucket.tokens = tokens < this.capacity ? tokens : this.capacity
      bucket.at = now
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs)
  }

  private sweep(now: number) {
    this.nextSweep = now + this.refillMs
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.at >= this.refillMs) this.buckets.delete(key)
    }
    // Still full: the oldest entries (a Map iterates in insertion order) make room.
    if (this.buckets.size < this.maxClients) return
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key)
      if (this.buckets.size < this.maxClients) return
    }
  }
}

/**
 * The most client buckets held at once: about 150 bytes each, so some 7 MiB at
 * worst, far inside the vote pod's 256 MiB. Only more distinct addresses than
 * this within one minute (an attacker with as many addresses) push out a
 * bucket before it is full again.
 */
export const defaultMaxClients = 50_000

/**
 * The per-client limit on accepted votes (VOTE_RATE_LIMIT votes a minute from
 * one client address, by the rule in @voting/platform's ClientAddress).
 */
export class VoteRateLimit extends Context.Service<
  VoteRateLimit,
  {
    /** Votes a minute per client; 0 when there is no limit. */
    readonly perMinute: number
    /**
     * Takes one vote from the request's client at `now` (ms, the Clock's: the
     * instant the vote is accepted at): undefined when it may vote now, else why not.
     */
    readonly take: (request: ClientRequest, now: number) => RateLimited | undefined
  }
>()("@voting/vote/VoteRateLimit") {
  /** A limit of `perMinute` (0: none), the client found by `trusted`. */
  static readonly make = (
    perMinute: number,
    trusted: TrustedProxies = TrustedProxies.none,
    options: { readonly maxClients?: number } = {}
  ) =>
    Effect.sync(() => {
      if (perMinute === 0) return VoteRateLimit.of({ perMinute, take: () => undefined })
      const buckets = new TokenBuckets(perMinute, options)
      return VoteRateLimit.of({
        perMinute,
        take: (request, now) => {
          const wait = buckets.take(requestClientKey(request, trusted), now)
          return wait === 0 ? undefined : new RateLimited({ retryAfter: Math.ceil(wait / 1000), perMinute })
        }
      })
    })

  /** VOTE_RATE_LIMIT and TRUSTED_PROXIES from the config. */
  static readonly layer = Layer.effect(
    VoteRateLimit,
    Effect.flatMap(Effect.all([voteRateLimitConfig, trustedProxiesConfig]), ([perMinute, trusted]) =>
      VoteRateLimit.make(perMinute, trusted)
    )
  )

  /** No limit: for tests of everything else. */
  static readonly layerOff = Layer.effect(VoteRateLimit, VoteRateLimit.make(0))
}
