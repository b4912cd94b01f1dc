import { Duration, Schedule } from "effect"

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
