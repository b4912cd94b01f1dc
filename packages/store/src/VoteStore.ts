import type { QueuedVote } from "@voting/domain"
import { Context, type Effect, Layer, type Stream } from "effect"
import { makeMemoryVoteStore } from "./MemoryVoteStore.ts"
import { makePgVoteStore, makePgVoteStoreInProcess } from "./PgVoteStore.ts"
import type { StoreUnavailable } from "./StoreUnavailable.ts"

export interface Tally {
  readonly votes: ReadonlyMap<string, number>
  /** When any count last changed; undefined before the first vote. */
  readonly updatedAt: Date | undefined
}

/** The `traceparent` of the traced write behind a change, or undefined. */
export type CommitTrace = string | undefined

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
     * A change names the span of the write that committed it (its W3C
     * `traceparent`) when that write was traced, for the reader to link to.
     */
    readonly changes: Stream.Stream<CommitTrace, StoreUnavailable>
    readonly ping: Effect.Effect<void, StoreUnavailable>
  }
>()("@voting/store/VoteStore") {
  /** The store in memory, with PostgreSQL's rules and an in-process change feed: for unit tests. */
  static readonly layerMemory = Layer.effect(VoteStore, makeMemoryVoteStore)

  /**
   * The store on PostgreSQL, over the PgClient it is given. Its change feed is
   * LISTEN on the NOTIFY every changing commit sends, so any number of
   * processes see each other's votes.
   */
  static readonly layerPg = Layer.effect(VoteStore, makePgVoteStore)

  /**
   * The same SQL on any PostgreSQL SqlClient, with the change feed inside this
   * process: for an embedded PostgreSQL (PGlite), whose NOTIFY does not reach
   * other connections, where the writer and the readers share one process.
   */
  static readonly layerPgInProcess = Layer.effect(VoteStore, makePgVoteStoreInProcess)
}
