import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { databaseUrl } from "@voting/test-support/globalSetup"
import { emptyTestDatabase, testRoleNames } from "@voting/test-support/TestDatabase"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import type { SqlError } from "effect/sql"
import { type DatabaseRoles, scramVerifier } from "../src/DatabaseRoles.ts"
import { migrateAndGrant } from "../src/Migrations.ts"
import { VoteStore } from "../src/VoteStore.ts"
import { queued } from "./VoteStoreContract.ts"

/** The server's own error code (SQLSTATE) a refused statement failed with. */
const sqlState = (error: SqlError.SqlError): string | undefined => {
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string") return code
  }
  return undefined
}

const insufficientPrivilege = "42501"

const clientAs = (url: string, user: string) => {
  const as = new URL(url)
  as.username = user
  as.password = ""
  return PgClient.layer({ url: Redacted.make(as.href), maxConnections: 2 })
}

const adminLayer = PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })

/** Roles of this run's own (unique names, dropped after the database), with random passwords. */
const testRoles = Effect.map(
  testRoleNames,
  ({ writer, reader }): DatabaseRoles => ({
    writer: Option.some({ name: writer, password: Redacted.make(randomBytes(16).toString("hex")) }),
    reader: Option.some({ name: reader, password: Redacted.make(randomBytes(16).toString("hex")) })
  })
)

const nameOf = (role: DatabaseRoles["writer"]) => Option.getOrThrow(role).name

/** A migrated database with the job roles granted; the owner's, the writer's and the reader's clients. */
const setUp = Effect.gen(function* () {
  const roles = yield* testRoles
  const database = yield* emptyTestDatabase
  const owner = PgClient.layer({ url: Redacted.make(database.url), maxConnections: 1 })
  // Twice: the second run finds the schema and the roles and changes nothing that matters.
  yield* migrateAndGrant(roles).pipe(Effect.provide(owner), Effect.scoped)
  yield* migrateAndGrant(roles).pipe(Effect.provide(owner), Effect.scoped)
  return {
    roles,
    writer: clientAs(database.url, nameOf(roles.writer)),
    reader: clientAs(database.url, nameOf(roles.reader))
  }
})

/** Runs `statement` as the client's role and expects PostgreSQL to refuse it for lack of privilege. */
const refused = (statement: string) =>
  Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    const error = yield* Effect.flip(sql.unsafe(statement))
    assert.strictEqual(sqlState(error), insufficientPrivilege, `${statement}: ${error.message}`)
  })

describe("one database role per job", () => {
  it.live("the writer records votes (the tally triggers and the NOTIFY included) and can change no schema", () =>
    Effect.gen(function* () {
      const { writer, reader } = yield* setUp
      const changed = yield* Effect.gen(function* () {
        const store = yield* VoteStore
        const first = yield* store.record([queued("1-0", "alice", "a"), queued("1-1", "bob", "b")])
        // A changed vote goes through the update trigger.
        const second = yield* store.record([queued("2-0", "alice", "b")])
        return first + second
      }).pipe(Effect.provide(VoteStore.layerPg.pipe(Layer.provide(writer))), Effect.scoped)
      assert.strictEqual(changed, 3)

      const tally = yield* Effect.gen(function* () {
        const store = yield* VoteStore
        return yield* store.tally
      }).pipe(Effect.provide(VoteStore.layerPg.pipe(Layer.provide(reader))), Effect.scoped)
      assert.deepStrictEqual(Object.fromEntries([...tally.votes].filter(([, n]) => n !== 0)), { b: 2 })

      yield* Effect.all([
        refused("CREATE TABLE intruder (id int)"),
        refused("CREATE TEMPORARY TABLE intruder (id int)"),
        refused("ALTER TABLE votes ADD COLUMN intruder int"),
        refused("DROP TABLE option_tallies"),
        refused("CREATE INDEX intruder ON votes (option_id)"),
        refused("TRUNCATE votes"),
        refused("DELETE FROM votes"),
        refused("CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
        refused("SELECT * FROM effect_sql_migrations")
      ]).pipe(Effect.provide(writer), Effect.scoped)
    }).pipe(Effect.scoped)
  )

  it.live("the reader reads the tally and listens for changes, and can write nothing", () =>
    Effect.gen(function* () {
      const { reader } = yield* setUp
      yield* Effect.gen(function* () {
        const store = yield* VoteStore
        yield* store.tally
        // LISTEN works: the feed starts (its first element is the initial read).
        yield* store.changes.pipe(Stream.take(1), Stream.runDrain)
      }).pipe(Effect.provide(VoteStore.layerPg.pipe(Layer.provide(reader))), Effect.scoped)

      yield* Effect.all([
        refused(
          "INSERT INTO votes (voter_id, option_id, entry_ms, entry_seq, accepted_at) VALUES ('x', 'a', 1, 0, now())"
        ),
        refused("UPDATE option_tallies SET votes = 1000000"),
        refused("INSERT INTO option_tallies (option_id, votes) VALUES ('a', 1000000)"),
        refused("DELETE FROM option_tallies"),
        refused("SELECT voter_id FROM votes"),
        refused("CREATE TABLE intruder (id int)")
      ]).pipe(Effect.provide(reader), Effect.scoped)
    }).pipe(Effect.scoped)
  )

  it.live("migrate gives PostgreSQL a SCRAM verifier, never the password, and it is the one PostgreSQL computes", () =>
    Effect.gen(function* () {
      const { roles } = yield* setUp
      const admin = yield* PgClient.PgClient
      const name = nameOf(roles.writer)
      const stored = () =>
        admin<{ rolpassword: string; rolsuper: boolean; rolcreaterole: boolean }>`
          SELECT rolpassword, rolsuper, rolcreaterole FROM pg_authid WHERE rolname = ${name}`.pipe(
          Effect.map((rows) => rows[0])
        )
      const granted = yield* stored()
      assert.match(granted?.rolpassword ?? "", /^SCRAM-SHA-256\$4096:/)
      assert.notInclude(granted?.rolpassword ?? "", Redacted.value(Option.getOrThrow(roles.writer).password))
      assert.isFalse(granted?.rolsuper)
      assert.isFalse(granted?.rolcreaterole)

      // PostgreSQL hashes a password itself; the same salt and iterations give the same verifier here.
      const password = `pencil-${randomBytes(4).toString("hex")}`
      yield* admin.withTransaction(
        Effect.gen(function* () {
          yield* admin`SET LOCAL password_encryption = 'scram-sha-256'`
          yield* admin.unsafe(`ALTER ROLE ${name} PASSWORD '${password}'`)
        })
      )
      const own = (yield* stored())?.rolpassword ?? ""
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(own) ?? []
      assert.strictEqual(scramVerifier(password, Buffer.from(salt ?? "", "base64"), Number(iterations)), own)
    }).pipe(Effect.provide(adminLayer), Effect.scoped)
  )
})
