import { assert, describe, it } from "@effect/vitest"
import { type EntryId, type QueuedVote, Vote, type VoterId } from "@voting/domain"
import { LivePoll } from "@voting/platform"
import { makeMemoryVoteStore, VoteStore } from "@voting/store"
import { pollOf } from "@voting/test-support/Polls"
import { DateTime, Effect, Fiber, Layer, Option, Stream } from "effect"
import { TestClock } from "effect/testing"
import { coalesceWindow, ResultsFeed, toResults } from "../src/ResultsFeed.ts"

const poll = pollOf("Pets", "a=Cats,b=Dogs")

const vote = (n: number, option: "a" | "b"): QueuedVote => ({
  entryId: `${n}-0` as EntryId,
  vote: new Vote(
    {
      voterId: `voter${String(n).padStart(5, "0")}`.padEnd(22, "0") as VoterId,
      option: option as Vote["option"],
      acceptedAt: DateTime.makeUnsafe(0)
    },
    { disableChecks: true }
  )
})

/** The in-memory store, counting how often the tally is read. */
const countingStore = Layer.effect(
  VoteStore,
  Effect.gen(function* () {
    const store = yield* makeMemoryVoteStore
    return VoteStore.of({
      ...store,
      tally: Effect.suspend(() => Effect.sync(() => (tallyReads += 1)).pipe(Effect.andThen(store.tally)))
    })
  })
)
let tallyReads = 0

const layer = ResultsFeed.layer.pipe(Layer.provideMerge(countingStore), Layer.provide(LivePoll.layerStatic(poll)))

const settle = Effect.gen(function* () {
  for (let i = 0; i < 5; i++) {
    yield* TestClock.adjust(coalesceWindow)
    yield* Effect.yieldNow
  }
})

describe("ResultsFeed", () => {
  it("shapes a tally as the contract's results, in poll order, with zeros and a total", () => {
    const results = toResults(
      poll,
      {
        votes: new Map([
          ["b", 3],
          ["gone", 9]
        ]),
        updatedAt: undefined
      },
      Date.UTC(2026, 10, 22)
    )
    assert.deepStrictEqual(results, {
      title: "Pets",
      options: [
        { id: "a", label: "Cats", votes: 0 },
        { id: "b", label: "Dogs", votes: 3 }
      ],
      total: 3,
      updatedAt: "2026-11-22T00:00:00.000Z"
    } as never)
  })

  it.effect(
    "reads the tally a few times, not once per commit, for a burst of commits, and pushes the final results",
    () =>
      Effect.gen(function* () {
        const feed = yield* ResultsFeed
        const store = yield* VoteStore
        // The first read at start: its results are what a subscriber is sent first.
        yield* feed.changes.pipe(Stream.runHead)
        const readsBefore = tallyReads
        const pushed = yield* Effect.forkChild(
          feed.changes.pipe(
            Stream.takeUntil((results) => results.total === 100),
            Stream.runCollect
          )
        )
        yield* Effect.yieldNow
        for (let n = 1; n <= 100; n++) yield* store.record([vote(n, n % 4 === 0 ? "b" : "a")])
        // One coalescing window at a time on the test clock, until the final results are pushed.
        let windows = 0
        while (pushed.pollUnsafe() === undefined) {
          assert.isBelow(windows++, 100, "the final results were never pushed")
          yield* TestClock.adjust(coalesceWindow)
          yield* Effect.yieldNow
        }
        const seen = yield* Fiber.join(pushed)
        assert.deepStrictEqual(
          seen.at(-1)?.options.map((o) => o.votes),
          [75, 25]
        )
        // 100 commits in a burst: a handful of reads (one per 50 ms window at most), not 100.
        assert.isAtMost(tallyReads - readsBefore, 10)
        assert.isAtMost(seen.length, 10)
        assert.deepStrictEqual(
          Option.map(yield* feed.current, (r) => r.total),
          Option.some(100)
        )
      }).pipe(Effect.provide(layer))
  )

  it.effect(
    "pushes the current results to each onChange listener, then every change once, until its scope closes",
    () =>
      Effect.gen(function* () {
        const feed = yield* ResultsFeed
        const store = yield* VoteStore
        yield* settle
        const first: Array<number> = []
        const second: Array<number> = []
        const until = (done: () => boolean) =>
          Effect.gen(function* () {
            for (let windows = 0; !done(); windows++) {
              assert.isBelow(windows, 100, "the change was never pushed")
              yield* TestClock.adjust(coalesceWindow)
              yield* Effect.yieldNow
            }
          })
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* feed.onChange((results) => Effect.sync(() => first.push(results.total)))
            yield* feed.onChange((results) => Effect.sync(() => second.push(results.total)))
            yield* store.record([vote(1, "a")])
            yield* until(() => first.length === 2)
            yield* store.record([vote(2, "b")])
            yield* until(() => first.length === 3)
            // A read that finds the same results pushes nothing: voter 1 votes "a" again, later.
            const reads = tallyReads
            yield* store.record([{ ...vote(1, "a"), entryId: "10-0" as EntryId }])
            yield* until(() => tallyReads > reads)
          })
        )
        // After its scope a listener hears nothing more, though the results change.
        yield* store.record([vote(3, "a")])
        for (let windows = 0; ; windows++) {
          assert.isBelow(windows, 100, "the change was never read")
          if (Option.getOrUndefined(Option.map(yield* feed.current, (r) => r.total)) === 3) break
          yield* TestClock.adjust(coalesceWindow)
          yield* Effect.yieldNow
        }
        assert.deepStrictEqual(first, [0, 1, 2])
        assert.deepStrictEqual(second, [0, 1, 2])
      }).pipe(Effect.provide(layer))
  )

  it.effect("starts every subscriber with the current results, 'no votes' included", () =>
    Effect.gen(function* () {
      const feed = yield* ResultsFeed
      yield* settle
      const first = yield* feed.changes.pipe(Stream.runHead)
      assert.deepStrictEqual(
        Option.map(first, (r) => [r.total, r.options.map((o) => o.votes)]),
        Option.some([0, [0, 0]] as const) as never
      )
    }).pipe(Effect.provide(layer))
  )
})
