import { assert, describe, it } from "@effect/vitest"
import { type EntryId, type QueuedVote, Vote, type VoterId } from "@voting/domain"
import { DateTime, Effect, Fiber, type Layer, Stream } from "effect"
import { VoteStore } from "../src/VoteStore.ts"

export const queued = (entryId: string, voter: string, option: string): QueuedVote => ({
  entryId: entryId as EntryId,
  vote: new Vote(
    { voterId: voter.padEnd(22, "0") as VoterId, option: option as Vote["option"], acceptedAt: DateTime.makeUnsafe(0) },
    { disableChecks: true }
  )
})

const counts = (tally: { readonly votes: ReadonlyMap<string, number> }) =>
  Object.fromEntries([...tally.votes].filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b)))

/**
 * What every VoteStore must do, run against PostgreSQL and the in-memory twin:
 * one current vote per voter, the later queue entry wins, replays change
 * nothing, and the counts follow the votes.
 */
export const voteStoreContract = (name: string, makeLayer: () => Layer.Layer<VoteStore, unknown>) =>
  describe(`${name} (VoteStore contract)`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, VoteStore>) =>
      effect.pipe(Effect.provide(makeLayer()), Effect.scoped) as Effect.Effect<A, E>

    it.live("keeps one current vote per voter and counts them", () =>
      run(
        Effect.gen(function* () {
          const store = yield* VoteStore
          assert.deepStrictEqual(counts(yield* store.tally), {})
          assert.isUndefined((yield* store.tally).updatedAt)
          const changed = yield* store.record([
            queued("1-0", "ann", "a"),
            queued("1-1", "bob", "a"),
            queued("1-2", "cy", "b")
          ])
          assert.strictEqual(changed, 3)
          assert.deepStrictEqual(counts(yield* store.tally), { a: 2, b: 1 })
          assert.isDefined((yield* store.tally).updatedAt)
        })
      )
    )

    it.live("lets the later queue entry win, whatever order the entries arrive in", () =>
      run(
        Effect.gen(function* () {
          const store = yield* VoteStore
          yield* store.record([queued("10-0", "ann", "b")])
          // An older entry, delivered late (a reclaimed batch), must not overwrite.
          assert.strictEqual(yield* store.record([queued("9-5", "ann", "a")]), 0)
          // Within one batch, the latest of a voter's entries wins, not the last in the array.
          yield* store.record([queued("12-0", "bob", "b"), queued("11-0", "bob", "a")])
          // The sequence part orders entries of the same millisecond, numerically.
          yield* store.record([queued("20-10", "cy", "b"), queued("20-9", "cy", "a")])
          assert.deepStrictEqual(counts(yield* store.tally), { b: 3 })
          yield* store.record([queued("30-0", "ann", "a")])
          assert.deepStrictEqual(counts(yield* store.tally), { a: 1, b: 2 })
        })
      )
    )

    it.live("changes nothing when a batch is delivered again", () =>
      run(
        Effect.gen(function* () {
          const store = yield* VoteStore
          const batch = [queued("1-0", "ann", "a"), queued("2-0", "bob", "b"), queued("3-0", "ann", "b")]
          assert.strictEqual(yield* store.record(batch), 2)
          const before = counts(yield* store.tally)
          assert.strictEqual(yield* store.record(batch), 0)
          assert.strictEqual(yield* store.record(batch.slice(0, 1)), 0)
          assert.deepStrictEqual(counts(yield* store.tally), before)
          assert.deepStrictEqual(before, { b: 2 })
        })
      )
    )

    it.live("signals a committed change to subscribers", () =>
      run(
        Effect.gen(function* () {
          const store = yield* VoteStore
          const signals = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.changes, 2)))
          // The first signal comes on subscribing; give the listener time to be in place.
          yield* Effect.sleep("200 millis")
          yield* store.record([queued("1-0", "ann", "a")])
          const collected = yield* Fiber.join(signals).pipe(Effect.timeout("5 seconds"))
          assert.strictEqual(collected.length, 2)
        })
      )
    )
  })
