import { compareEntryIds, type QueuedVote, type StoreUnavailable } from "@voting/domain"
import { Context, type Effect, type Stream } from "effect"

export interface Tally {
  readonly votes: ReadonlyMap<string, number>
  /** When any count last changed; undefined before the first vote. */
  readonly updatedAt: Date | undefined
}

/**
 * Where votes end up: one current vote per voter, and the counts per option.
 */
export class VoteStore extends Context.Service<
  VoteStore,
  {
    /**
     * Records a batch in one transaction. A vote replaces the voter's stored
     * one only if it was queued later; replays and older votes change nothing.
     * Returns how many voters' rows changed.
     */
    readonly record: (votes: ReadonlyArray<QueuedVote>) => Effect.Effect<number, StoreUnavailable>
    readonly tally: Effect.Effect<Tally, StoreUnavailable>
    /**
     * Emits once on subscribing and once after every committed change. It
     * fails when the connection carrying it drops; subscribe again to go on.
     */
    readonly changes: Stream.Stream<void, StoreUnavailable>
    readonly ping: Effect.Effect<void, StoreUnavailable>
  }
>()("@voting/store/VoteStore") {}

/** Keeps, per voter, only the vote queued last: the one a batch would end with anyway. */
export const latestPerVoter = (votes: ReadonlyArray<QueuedVote>): Array<QueuedVote> => {
  const latest = new Map<string, QueuedVote>()
  for (const queued of votes) {
    const held = latest.get(queued.vote.voterId)
    if (held === undefined || compareEntryIds(queued.entryId, held.entryId) > 0) latest.set(queued.vote.voterId, queued)
  }
  return [...latest.values()]
}
