import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { VoteStore } from "@voting/store"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll } from "vitest"
import { queued, voteStoreContract } from "../../../packages/store/test/VoteStoreContract.ts"
import { layerPglite } from "../src/EmbeddedVoteStore.ts"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "voting-pglite-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

// PgVoteStore's SQL, triggers and migrations on PGlite must keep every promise PostgreSQL does.
voteStoreContract("EmbeddedVoteStore (PGlite)", () => layerPglite(freshDir()))

describe("EmbeddedVoteStore", () => {
  it.live("keeps the votes in its data directory between runs", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      yield* Effect.gen(function* () {
        const store = yield* VoteStore
        yield* store.record([queued("1-0", "ann", "a"), queued("1-1", "bob", "b")])
        yield* store.record([queued("2-0", "ann", "b")])
      }).pipe(Effect.provide(layerPglite(dir)), Effect.scoped)
      // Opened again from the files alone: the migrations find nothing to do, the votes are there.
      const tally = yield* Effect.gen(function* () {
        const store = yield* VoteStore
        return yield* store.tally
      }).pipe(Effect.provide(layerPglite(dir)), Effect.scoped)
      assert.deepStrictEqual(Object.fromEntries(tally.votes), { a: 0, b: 2 })
      assert.isDefined(tally.updatedAt)
    })
  )

  it.live("keeps the tallies equal to the rows through concurrent batches", () =>
    Effect.gen(function* () {
      const store = yield* VoteStore
      const sql = yield* SqlClient.SqlClient
      let seq = 0
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 50 }, (_, i) =>
          queued(`${100 + b}-${seq++}`, `voter${(i * 7 + b) % 60}`, "abc"[(i + b) % 3]!)
        )
      )
      yield* Effect.forEach(batches, (batch) => store.record(batch), { concurrency: 4 })
      // Each voter's latest entry: batch b's ids all sort after batch b-1's.
      const latest = new Map<string, string>()
      for (const q of batches.flat()) latest.set(q.vote.voterId, q.vote.option)
      const expected: Record<string, number> = {}
      for (const option of latest.values()) expected[option] = (expected[option] ?? 0) + 1

      const rows = yield* sql<{ option_id: string; n: number }>`
        SELECT option_id, count(*)::int AS n FROM votes GROUP BY option_id ORDER BY option_id`
      const tally = yield* store.tally
      assert.deepStrictEqual(Object.fromEntries(rows.map((r) => [r.option_id, r.n])), expected)
      assert.deepStrictEqual(Object.fromEntries([...tally.votes].filter(([, n]) => n !== 0).sort()), expected)
    }).pipe(Effect.provide(layerPglite(freshDir())), Effect.scoped)
  )
})
