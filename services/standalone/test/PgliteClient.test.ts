import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { afterAll } from "vitest"
import { PgliteClient } from "../src/PgliteClient.ts"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "voting-pglite-client-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe("PgliteClient", () => {
  it.live("runs statements off the main thread, which goes on turning while one runs, and keeps their errors", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      // Counts the main event loop's turns while a 300 ms statement runs. On the main thread
      // the statement is one synchronous WebAssembly call: the loop could not turn at all.
      let turns = 0
      let running = true
      const turn = () => {
        turns += 1
        if (running) setImmediate(turn)
      }
      turn()
      yield* sql`SELECT pg_sleep(0.3)`
      running = false
      assert.isAbove(turns, 10)

      // A statement's failure crosses the thread with PostgreSQL's SQLSTATE on its cause.
      const exit = yield* Effect.exit(sql`SELECT * FROM no_such_table`)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      const failure = error?._tag === "Fail" ? error.error : undefined
      assert.instanceOf(failure, SqlError.SqlError)
      assert.include(failure?.message, "no_such_table")
      assert.strictEqual((failure?.reason.cause as { code?: string } | undefined)?.code, "42P01")

      // And the session is still there for the next statement.
      const rows = yield* sql<{ n: number }>`SELECT 1 AS n`
      assert.deepStrictEqual(rows, [{ n: 1 }])
    }).pipe(Effect.provide(PgliteClient.layer({ dataDir: freshDir() })), Effect.scoped)
  )
})
