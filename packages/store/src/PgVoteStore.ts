import { PgClient, PgTypes } from "@effect/sql-pg"
import { entryPosition } from "@voting/domain"
import { encodeTraceparent, TracingEnabled } from "@voting/platform"
import { Cause, Duration, Effect, PubSub, Result, Stream } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { latestPerVoter } from "./LatestPerVoter.ts"
import { StoreUnavailable } from "./StoreUnavailable.ts"
import type { CommitTrace, VoteStore } from "./VoteStore.ts"

/** The NOTIFY channel a commit that changed votes signals on. */
export const resultsChannel = "vote_results"

const unavailable = (operation: string) => (error: SqlError.SqlError) =>
  new StoreUnavailable({ operation, cause: error })

/**
 * The longest a store call may go unanswered. When PostgreSQL shuts down
 * while a statement is on the wire, the driver can leave that statement
 * waiting forever (no error, no connection left); without a bound the worker's
 * loop and the result service's refresh would stop for good on one restart.
 * A batch of a thousand votes takes milliseconds, so this only cuts a call
 * that will never answer.
 */
export const storeCallTimeout = Duration.seconds(10)

const noAnswer = `no answer within ${Duration.format(storeCallTimeout)}`

const bounded =
  (operation: string) =>
  <A, R>(effect: Effect.Effect<A, StoreUnavailable, R>): Effect.Effect<A, StoreUnavailable, R> =>
    Effect.timeoutOrElse(effect, {
      duration: storeCallTimeout,
      orElse: () => Effect.fail(new StoreUnavailable({ operation, cause: new Cause.TimeoutError(noAnswer) }))
    })

/** An array parameter of one declared element type (only an unknown OID fails here, never a value). */
const typedArray = (values: ReadonlyArray<unknown>, elementOid: number) =>
  Result.getOrThrow(PgTypes.array(values, elementOid))

/** Where the store's change feed comes from, and what a commit that changed votes does for it. */
interface ChangeFeed {
  readonly changes: Stream.Stream<CommitTrace, StoreUnavailable>
  readonly committed: (trace: CommitTrace) => Effect.Effect<void>
}

/**
 * The store's SQL over any PostgreSQL SqlClient, with the change feed it is
 * given. A batch is one statement over arrays (`unnest`), so one prepared plan
 * serves every batch size; the tally triggers and the NOTIFY commit with it.
 */
const makeSqlVoteStore = (sql: SqlClient.SqlClient, feed: ChangeFeed): VoteStore["Service"] => {
  const recordIn = (batch: Parameters<VoteStore["Service"]["record"]>[0], trace: CommitTrace) => {
    // Sorted by voter so concurrent batches lock rows in the same order.
    const votes = latestPerVoter(batch).sort((a, b) => (a.vote.voterId < b.vote.voterId ? -1 : 1))
    if (votes.length === 0) return Effect.succeed(0)
    const positions = votes.map((queued) => entryPosition(queued.entryId))
    // Typed arrays: left to inference, a batch mixing 1700000000 (int8) and 1700000000.5 (float8),
    // or small and large ids, fails as a whole, every time it is retried.
    const entryMs = typedArray(
      positions.map((p) => BigInt(p.ms)),
      PgTypes.OID.int8
    )
    const entrySeq = typedArray(
      positions.map((p) => BigInt(p.seq)),
      PgTypes.OID.int8
    )
    const acceptedAt = typedArray(
      votes.map((q) => q.vote.acceptedAt.epochMilliseconds),
      PgTypes.OID.timestamptz
    )
    // One statement is one transaction: the upsert, the tally triggers and the NOTIFY commit
    // together. No BEGIN/COMMIT round trips, and nothing left uninterruptible for the driver
    // to hang in when the server goes away mid-call (see storeCallTimeout).
    return sql<{ changed: bigint | number | string }>`
      WITH changed AS (
        INSERT INTO votes (voter_id, option_id, entry_ms, entry_seq, accepted_at)
        SELECT voter_id, option_id, entry_ms, entry_seq, accepted_at FROM unnest(
          ${typedArray(
            votes.map((q) => q.vote.voterId),
            PgTypes.OID.text
          )}::text[],
          ${typedArray(
            votes.map((q) => q.vote.option),
            PgTypes.OID.text
          )}::text[],
          ${entryMs}::bigint[],
          ${entrySeq}::bigint[],
          ${acceptedAt}::timestamptz[]
        ) AS incoming (voter_id, option_id, entry_ms, entry_seq, accepted_at)
        ON CONFLICT (voter_id) DO UPDATE SET
          option_id = excluded.option_id,
          entry_ms = excluded.entry_ms,
          entry_seq = excluded.entry_seq,
          accepted_at = excluded.accepted_at,
          recorded_at = now()
        WHERE (excluded.entry_ms, excluded.entry_seq) > (votes.entry_ms, votes.entry_seq)
        RETURNING 1
      ),
      notified AS (
        SELECT pg_notify(${resultsChannel}, ${trace ?? ""}) FROM (SELECT 1 FROM changed LIMIT 1) AS any_change
      )
      SELECT (SELECT count(*) FROM changed) AS changed, (SELECT count(*) FROM notified) AS notified`.pipe(
      Effect.map((rows) => Number(rows[0]?.changed ?? 0)),
      Effect.tap((changed) => (changed > 0 ? feed.committed(trace) : Effect.void)),
      Effect.mapError(unavailable("record votes")),
      bounded("record votes")
    )
  }

  /**
   * One span a batch. With tracing on, the NOTIFY payload is the span's
   * `traceparent`, so the result service's re-read links to this commit.
   */
  const record = (batch: Parameters<VoteStore["Service"]["record"]>[0]) =>
    Effect.withFiber((fiber) => {
      const span = fiber.cache.span
      const traced = span?._tag === "Span" && span.sampled && fiber.getRef(TracingEnabled)
      return recordIn(batch, traced ? encodeTraceparent(span) : undefined)
    }).pipe(
      Effect.withSpan("VoteStore.record", {
        kind: "client",
        attributes: { "db.system.name": "postgresql", "db.operation.batch.size": batch.length }
      })
    )

  return {
    record,
    tally: sql<{ option_id: string; votes: bigint | number; updated_at: Date }>`
      SELECT option_id, votes, updated_at FROM option_tallies`.pipe(
      Effect.map((rows) => ({
        votes: new Map(rows.map((row) => [row.option_id, Number(row.votes)])),
        updatedAt: rows.reduce<Date | undefined>(
          (latest, row) => (latest === undefined || row.updated_at > latest ? row.updated_at : latest),
          undefined
        )
      })),
      Effect.mapError(unavailable("read tally")),
      bounded("read tally")
    ),
    changes: feed.changes,
    ping: sql`SELECT 1`.pipe(Effect.asVoid, Effect.mapError(unavailable("ping")), bounded("ping"))
  }
}

/**
 * The store on PostgreSQL (VoteStore.layerPg). Its change feed is LISTEN on
 * the NOTIFY every changing commit sends, so any number of processes see each
 * other's votes.
 */
export const makePgVoteStore = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return makeSqlVoteStore(sql, {
    changes: Stream.unwrap(
      Effect.map(sql.listen(resultsChannel), (notifications) =>
        Stream.fromQueue(notifications).pipe(
          Stream.map(({ payload }): CommitTrace => (payload === "" ? undefined : payload)),
          Stream.prepend([undefined])
        )
      )
    ).pipe(Stream.mapError(unavailable("listen for changes"))),
    committed: () => Effect.void
  })
})

/**
 * The same SQL on any PostgreSQL SqlClient, with the change feed inside this
 * process (VoteStore.layerPgInProcess): for an embedded PostgreSQL (PGlite),
 * whose NOTIFY does not reach other connections, where the writer and the
 * readers share one process.
 */
export const makePgVoteStoreInProcess = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const committed = yield* PubSub.unbounded<CommitTrace>()
  return makeSqlVoteStore(sql, {
    // Subscribed before the first emission, so a commit between the first read and the
    // subscription is not missed.
    changes: Stream.unwrap(
      Effect.map(PubSub.subscribe(committed), (subscription) =>
        Stream.fromSubscription(subscription).pipe(Stream.prepend([undefined]))
      )
    ),
    committed: (trace) => PubSub.publish(committed, trace).pipe(Effect.asVoid)
  })
})
