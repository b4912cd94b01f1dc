import { PgClient, PgTypes } from "@effect/sql-pg"
import { entryPosition, StoreUnavailable } from "@voting/domain"
import { Effect, Layer, Result, Stream } from "effect"
import type { SqlError } from "effect/sql"
import { latestPerVoter, VoteStore } from "./VoteStore.ts"

/** The NOTIFY channel a commit that changed votes signals on. */
export const resultsChannel = "vote_results"

/** PostgreSQL's own words (the innermost cause), which say what actually went wrong. */
const unavailable = (operation: string) => (error: SqlError.SqlError) => {
  let innermost: unknown = error
  while (innermost instanceof Error && innermost.cause instanceof Error) innermost = innermost.cause
  const reason = innermost instanceof Error && innermost !== error ? innermost.message : error.message
  return new StoreUnavailable({ operation, reason })
}

/** An array parameter of one declared element type (only an unknown OID fails here, never a value). */
const typedArray = (values: ReadonlyArray<unknown>, elementOid: number) =>
  Result.getOrThrow(PgTypes.array(values, elementOid))

/**
 * The store on PostgreSQL. A batch is one statement over arrays (`unnest`), so
 * one prepared plan serves every batch size; the tally triggers and the NOTIFY
 * commit with it.
 */
export const PgVoteStore = {
  layer: Layer.effect(
    VoteStore,
    Effect.gen(function* () {
      const sql = yield* PgClient.PgClient

      const record = (batch: Parameters<VoteStore["Service"]["record"]>[0]) => {
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
        return sql
          .withTransaction(
            Effect.gen(function* () {
              const changed = yield* sql`
                INSERT INTO votes (voter_id, option_id, entry_ms, entry_seq, accepted_at)
                SELECT voter_id, option_id, entry_ms, entry_seq, accepted_at FROM unnest(
                  ${votes.map((q) => q.vote.voterId)}::text[],
                  ${votes.map((q) => q.vote.option)}::text[],
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
                RETURNING 1`
              if (changed.length > 0) yield* sql`SELECT pg_notify(${resultsChannel}, '')`
              return changed.length
            })
          )
          .pipe(Effect.mapError(unavailable("record votes")))
      }

      return VoteStore.of({
        record,
        tally: sql<{ option_id: string; votes: bigint; updated_at: Date }>`
          SELECT option_id, votes, updated_at FROM option_tallies`.pipe(
          Effect.map((rows) => ({
            votes: new Map(rows.map((row) => [row.option_id, Number(row.votes)])),
            updatedAt: rows.reduce<Date | undefined>(
              (latest, row) => (latest === undefined || row.updated_at > latest ? row.updated_at : latest),
              undefined
            )
          })),
          Effect.mapError(unavailable("read tally"))
        ),
        changes: Stream.unwrap(
          Effect.map(sql.listen(resultsChannel), (notifications) =>
            Stream.fromQueue(notifications).pipe(Stream.as(undefined), Stream.prepend([undefined]))
          )
        ).pipe(Stream.mapError(unavailable("listen for changes"))),
        ping: sql`SELECT 1`.pipe(Effect.asVoid, Effect.mapError(unavailable("ping")))
      })
    })
  )
}
