import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { type EntryId, Vote, type VoterId } from "@voting/domain"
import { TracingEnabled } from "@voting/platform"
import { TestPgClient } from "@voting/test-support/TestDatabase"
import { DateTime, Effect, Fiber, Layer, Stream, Tracer } from "effect"
import { VoteStore } from "../src/VoteStore.ts"
import { queued, voteStoreContract } from "./VoteStoreContract.ts"

const layer = () => VoteStore.layerPg.pipe(Layer.provideMerge(TestPgClient))

voteStoreContract("PgVoteStore", layer)

const voters = Array.from({ length: 400 }, (_, i) => `voter${String(i).padStart(4, "0")}`)
const options = ["a", "b", "c"]

describe("PgVoteStore on a real PostgreSQL", () => {
  it.live("keeps the counts equal to the rows through a burst of changed votes from concurrent workers", () =>
    Effect.gen(function* () {
      const store = yield* VoteStore
      const sql = yield* PgClient.PgClient
      // 20 batches of 200 random votes from 400 voters, written by 4 concurrent "workers":
      // the same voters change their vote across batches that commit at once.
      let seq = 0
      const batches = Array.from({ length: 20 }, () =>
        Array.from({ length: 200 }, () => {
          const voter = voters[randomBytes(2).readUInt16BE() % voters.length]!
          const option = options[randomBytes(1)[0]! % options.length]!
          seq += 1
          return queued(`${1000 + (seq % 7)}-${seq}`, voter, option)
        })
      )
      yield* Effect.forEach(batches, (batch) => store.record(batch), { concurrency: 4 })

      const rows = yield* sql<{ option_id: string; n: bigint }>`
        SELECT option_id, count(*) AS n FROM votes GROUP BY option_id`
      const fromRows = Object.fromEntries(rows.map((r) => [r.option_id, Number(r.n)]))
      const tally = yield* store.tally
      const fromTally = Object.fromEntries([...tally.votes].filter(([, n]) => n !== 0))
      assert.deepStrictEqual(fromTally, fromRows)

      // And each voter holds the vote of their latest entry.
      const latest = new Map<string, { seq: number; option: string }>()
      for (const q of batches.flat()) {
        const s = Number(q.entryId.split("-")[1])
        const [ms] = q.entryId.split("-")
        const key = Number(ms) * 1e6 + s
        const held = latest.get(q.vote.voterId)
        if (!held || key > held.seq) latest.set(q.vote.voterId, { seq: key, option: q.vote.option })
      }
      const stored = yield* sql<{ voter_id: string; option_id: string }>`SELECT voter_id, option_id FROM votes`
      assert.strictEqual(stored.length, latest.size)
      for (const row of stored) assert.strictEqual(row.option_id, latest.get(row.voter_id)?.option, row.voter_id)
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )

  it.live("records a batch whose instants mix whole and fractional seconds and whose ids mix small and large", () =>
    Effect.gen(function* () {
      const store = yield* VoteStore
      // Left to type inference, 1763798335000 / 1000 and 1763798335001 / 1000 bind as int8 and float8,
      // and 1-0 next to 1763798335000-0 as int4 and int8: one such batch failed every retry.
      const vote = (entryId: string, voter: string, ms: number) => ({
        entryId: entryId as EntryId,
        vote: new Vote(
          {
            voterId: voter.padEnd(22, "0") as VoterId,
            option: "a" as Vote["option"],
            acceptedAt: DateTime.makeUnsafe(ms)
          },
          { disableChecks: true }
        )
      })
      const changed = yield* store.record([
        vote("1763798335000-0", "whole", 1763798335000),
        vote("1763798335001-0", "fraction", 1763798335001),
        vote("1-0", "small", 1000),
        vote("1763798335002-4294967296", "bigseq", 1763798335002)
      ])
      assert.strictEqual(changed, 4)
      const sql = yield* PgClient.PgClient
      const rows = yield* sql<{ voter_id: string; ms: string }>`
        SELECT voter_id, (extract(epoch FROM accepted_at) * 1000)::bigint::text AS ms FROM votes ORDER BY voter_id`
      assert.deepStrictEqual(
        rows.map((r) => [r.voter_id.replace(/0+$/, ""), r.ms]),
        [
          ["bigseq", "1763798335002"],
          ["fraction", "1763798335001"],
          ["small", "1000"],
          ["whole", "1763798335000"]
        ]
      )
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )

  it.live("names the traced write in its NOTIFY, for the reader to link to; an untraced one sends nothing", () =>
    Effect.gen(function* () {
      const store = yield* VoteStore
      const recorded: Array<Tracer.Span> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          if (options.name === "VoteStore.record") recorded.push(span)
          return span
        }
      })
      const signals = yield* Effect.forkChild(Stream.runCollect(Stream.take(store.changes, 3)))
      // The first signal comes on subscribing; give the listener time to be in place.
      yield* Effect.sleep("200 millis")
      yield* store
        .record([queued("1-0", "ann", "a")])
        .pipe(Effect.withTracer(tracer), Effect.provideService(TracingEnabled, true))
      yield* store.record([queued("2-0", "bob", "a")]).pipe(Effect.withTracer(tracer))
      const collected = yield* Fiber.join(signals).pipe(Effect.timeout("5 seconds"))
      const span = recorded[0] as Tracer.Span
      assert.deepStrictEqual(collected, [undefined, `00-${span.traceId}-${span.spanId}-01`, undefined])
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )
})
