import { Duration, Effect, Schedule } from "effect"

/**
 * Exponential backoff with jitter for dependencies that blink: 100 ms doubling
 * up to 5 s between attempts, for as long as it takes. Used where giving up
 * would drop work (the worker) or stop a component that could recover.
 */
export const dependencyBackoff = Schedule.min([
  Schedule.exponential(Duration.millis(100)),
  Schedule.spaced(Duration.seconds(5))
]).pipe(Schedule.jittered)

/**
 * A short, bounded retry for work a caller is waiting on (a voter's request):
 * three quick attempts, then the error goes back to the caller.
 */
export const requestRetry = Schedule.exponential(Duration.millis(25)).pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 2 })
)

export interface RetryWithBackoffOptions {
  /** Give up after retrying this long; the last error then goes on. Unbounded when absent. */
  readonly upTo?: Duration.Input
  /** Runs before each warning: a metric to count, a flag to lower. */
  readonly onFailure?: Effect.Effect<void>
}

/**
 * "Log, then retry with backoff", the one way a component waits out a
 * dependency: each failure is logged as a warning, `warning` with the error's
 * message as `reason`, and the effect is tried again on dependencyBackoff.
 */
export const retryWithBackoff = (warning: string, options: RetryWithBackoffOptions = {}) => {
  const { onFailure, upTo } = options
  const schedule = upTo === undefined ? dependencyBackoff : dependencyBackoff.pipe(Schedule.upTo({ duration: upTo }))
  return <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    effect.pipe(
      Effect.tapError((error) => {
        const log = Effect.logWarning(warning, { reason: error.message })
        return onFailure === undefined ? log : Effect.andThen(onFailure, log)
      }),
      Effect.retry(schedule)
    )
}
