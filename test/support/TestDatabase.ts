import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { runMigrations } from "@voting/store"
import { Effect, Layer, Redacted } from "effect"
import { databaseUrl } from "./globalSetup.ts"

const adminLayer = PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })

/** The URL of a database with this name on the test server. */
export const databaseUrlFor = (name: string) => {
  const url = new URL(databaseUrl)
  url.pathname = `/${name}`
  return url.href
}

/**
 * An empty database of its own for one test file, dropped (with any
 * connections still open to it) when the scope closes.
 */
export const emptyTestDatabase = Effect.acquireRelease(
  Effect.gen(function* () {
    const name = `voting_test_${process.pid}_${randomBytes(4).toString("hex")}`
    const admin = yield* PgClient.PgClient
    yield* admin.unsafe(`CREATE DATABASE ${name}`)
    return { name, url: databaseUrlFor(name) }
  }).pipe(Effect.provide(adminLayer), Effect.orDie),
  ({ name }) =>
    Effect.gen(function* () {
      const admin = yield* PgClient.PgClient
      yield* admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }).pipe(Effect.provide(adminLayer), Effect.orDie)
)

/**
 * Names for the writer and reader roles of one test file. Roles belong to the
 * server, not to a database, so each run makes its own and drops them when the
 * scope closes: acquire them before the database, so that they are dropped
 * after it (with it go the grants that would keep a role from being dropped).
 */
export const testRoleNames = Effect.acquireRelease(
  Effect.sync(() => {
    const tag = `${process.pid}_${randomBytes(4).toString("hex")}`
    return { writer: `voting_test_writer_${tag}`, reader: `voting_test_reader_${tag}` }
  }),
  ({ writer, reader }) =>
    Effect.gen(function* () {
      const admin = yield* PgClient.PgClient
      yield* admin.unsafe(`DROP ROLE IF EXISTS ${writer}`)
      yield* admin.unsafe(`DROP ROLE IF EXISTS ${reader}`)
    }).pipe(Effect.provide(adminLayer), Effect.orDie)
)

/** A database of its own for one test file, created empty and migrated (see emptyTestDatabase). */
export const testDatabase = Effect.tap(emptyTestDatabase, ({ url }) =>
  runMigrations.pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })),
    Effect.scoped,
    Effect.orDie
  )
)

/** A PgClient on a fresh, migrated database of its own. */
export const TestPgClient = Layer.unwrap(
  Effect.map(testDatabase, ({ url }) => PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }))
)
