import { compareEntryIds, type EntryId } from "@voting/domain"
import { Clock, Effect, PubSub, Stream } from "effect"
import { latestPerVoter } from "./LatestPerVoter.ts"
import type { CommitTrace, VoteStore } from "./VoteStore.ts"

interface StoredVote {
  readonly option: string
  readonly entryId: EntryId
}

/**
 * The store in memory (VoteStore.layerMemory), with the same rules as
 * PostgreSQL (the later queue entry wins, replays change nothing, counts
 * follow the rows) and an in-process change feed. For unit tests.
 */
export const makeMemoryVoteStore: Effect.Effect<VoteStore["Service"]> = Effect.gen(function* () {
  const votes = new Map<string, StoredVote>()
  const counts = new Map<string, number>()
  let updatedAt: Date | undefined
  const changed = yield* PubSub.unbounded<CommitTrace>()

  const move = (option: string, delta: number) => counts.set(option, (counts.get(option) ?? 0) + delta)

  const store: VoteStore["Service"] = {
    record: (batch) =>
      Effect.gen(function* () {
        let rowsChanged = 0
        for (const { entryId, vote } of latestPerVoter(batch)) {
          const held = votes.get(vote.voterId)
          if (held !== undefined && compareEntryIds(entryId, held.entryId) <= 0) continue
          if (held !== undefined) move(held.option, -1)
          move(vote.option, +1)
          votes.set(vote.voterId, { option: vote.option, entryId })
          rowsChanged += 1
        }
        if (rowsChanged > 0) {
          updatedAt = new Date(yield* Clock.currentTimeMillis)
          yield* PubSub.publish(changed, undefined)
        }
        return rowsChanged
      }),
    tally: Effect.sync(() => ({ votes: new Map(counts), updatedAt })),
    changes: Stream.fromPubSub(changed).pipe(Stream.prepend([undefined])),
    ping: Effect.void
  }
  return store
})
