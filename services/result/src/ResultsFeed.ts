import type { Poll, Results } from "@voting/domain"
import { decodeTraceparent, LivePoll, retryWithBackoff, TracingEnabled } from "@voting/platform"
import { type Tally, VoteStore } from "@voting/store"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Latch,
  Layer,
  Metric,
  Option,
  type Scope,
  Stream,
  SubscriptionRef,
  type Tracer
} from "effect"

/** The shortest gap between two reads of the tally: a burst of commits costs one read. */
export const coalesceWindow = Duration.millis(50)

/** The most commits one re-read links to; a burst beyond it is still read, its later links left off. */
export const maxLinkedCommits = 128

export const tallyReads = Metric.counter("result_refreshes_total", {
  description: "Times the tally was read after a change"
})

export const toResults = (poll: Poll, tally: Tally, now: number): Results => {
  const options = poll.options.map((option) => ({
    id: option.id,
    label: option.label,
    votes: tally.votes.get(option.id) ?? 0
  }))
  return {
    title: poll.title,
    options,
    total: options.reduce((sum, option) => sum + option.votes, 0),
    updatedAt: new Date(tally.updatedAt?.getTime() ?? now).toISOString()
  }
}

const sameResults = (a: Option.Option<Results>, b: Option.Option<Results>) =>
  Option.isSome(a) &&
  Option.isSome(b) &&
  a.value.title === b.value.title &&
  a.value.options.length === b.value.options.length &&
  a.value.options.every((option, i) => {
    const other = b.value.options[i]
    return other !== undefined && option.id === other.id && option.label === other.label && option.votes === other.votes
  })

/**
 * The current results, kept in memory and pushed on change. The store's change
 * feed (LISTEN/NOTIFY) and poll edits mark the results stale; one fiber reads
 * the tally when they are, at most once per coalescing window, so a burst of
 * commits costs one read and every client is sent the same value
 * (`readAndPush`). When the listening connection drops it is opened again with
 * backoff, and the first signal on the new one triggers a read, catching up
 * whatever was missed.
 */
export class ResultsFeed extends Context.Service<
  ResultsFeed,
  {
    /** None until the tally has been read once. */
    readonly current: Effect.Effect<Option.Option<Results>>
    readonly changes: Stream.Stream<Results>
    /**
     * Runs `push` with the current results, if read yet, and then with every
     * change, within the read that found it (`readAndPush`): once per change
     * for any number of clients (the event streams' fan-out), until the scope closes.
     */
    readonly onChange: (push: (results: Results) => Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
    /** Whether the change feed is connected now. */
    readonly listening: Effect.Effect<boolean>
  }
>()("@voting/result/ResultsFeed") {
  static readonly layer = Layer.effect(
    ResultsFeed,
    Effect.gen(function* () {
      const store = yield* VoteStore
      const livePoll = yield* LivePoll
      const results = yield* SubscriptionRef.make(Option.none<Results>())
      const pushes = new Set<(results: Results) => Effect.Effect<void>>()
      const stale = yield* Latch.make(true)
      let listening = false
      const tracing = yield* TracingEnabled
      // The traced commits since the last read: the next read and push links to each.
      let commits: Array<Tracer.SpanLink> = []

      /**
       * The re-read and push, once per coalescing window at most: reads the
       * tally and, when the results differ from the last ones, publishes them
       * to `current` and `changes` and pushes them to every `onChange`
       * listener before this effect ends.
       */
      const readAndPush = Effect.gen(function* () {
        const tally = yield* store.tally
        const poll = yield* livePoll.current
        const next = toResults(poll, tally, yield* Clock.currentTimeMillis)
        yield* Metric.update(tallyReads, 1)
        if (sameResults(yield* SubscriptionRef.get(results), Option.some(next))) return
        yield* SubscriptionRef.set(results, Option.some(next))
        for (const push of pushes) yield* push(next)
      }).pipe(retryWithBackoff("reading the tally failed; retrying"))

      /**
       * One span a re-read (reading the tally and handing the results to every
       * open stream), linked to each commit it covers: one re-read serves
       * many commits, so it links to them rather than belonging to one.
       */
      const refresh = Effect.suspend(() => {
        const links = commits
        commits = []
        return Effect.withSpan(readAndPush, "ResultsFeed.refresh", { links })
      })

      const noteCommit = (trace: string | undefined) => {
        if (!tracing || commits.length >= maxLinkedCommits) return
        const span = decodeTraceparent(trace)
        if (span?.sampled) commits.push({ span, attributes: {} })
      }

      yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function* () {
            yield* stale.await
            yield* stale.close
            yield* refresh
            yield* Effect.sleep(coalesceWindow)
          })
        )
      )

      yield* Effect.forkScoped(
        store.changes.pipe(
          Stream.runForEach((trace) =>
            Effect.sync(() => {
              listening = true
              noteCommit(trace)
            }).pipe(Effect.andThen(stale.open))
          ),
          retryWithBackoff("lost the results change feed; reconnecting", {
            onFailure: Effect.sync(() => {
              listening = false
            })
          })
        )
      )

      yield* Effect.forkScoped(livePoll.changes.pipe(Stream.runForEach(() => stale.open)))

      return ResultsFeed.of({
        current: SubscriptionRef.get(results),
        changes: SubscriptionRef.changes(results).pipe(
          Stream.filter(Option.isSome),
          Stream.map((value) => value.value),
          // A slow client only ever needs the latest results, never a backlog.
          Stream.buffer({ capacity: 1, strategy: "sliding" })
        ),
        onChange: (push) =>
          Effect.gen(function* () {
            const current = yield* SubscriptionRef.get(results)
            if (Option.isSome(current)) yield* push(current.value)
            pushes.add(push)
            yield* Effect.addFinalizer(() => Effect.sync(() => pushes.delete(push)))
          }),
        listening: Effect.sync(() => listening)
      })
    })
  )
}
