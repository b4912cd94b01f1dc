import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto"
import type { RoleLogin } from "@voting/platform"
import { Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"

/**
 * One database role per job, beside the owner that migrates: the writer (the
 * worker) may insert and update votes and what the tally triggers maintain;
 * the reader (the result service) may read the tally. Neither owns anything,
 * so neither can change the schema. NOTIFY and LISTEN need no grant.
 */
export interface DatabaseRoles {
  readonly writer: Option.Option<RoleLogin>
  readonly reader: Option.Option<RoleLogin>
}

/** A plain lower-case identifier: safe to write into a statement unquoted. */
const roleName = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * The SCRAM-SHA-256 verifier PostgreSQL would store for `password` (what
 * psql's \password sends): the server is given the verifier, never the
 * password, so no statement log or error report can show it.
 */
export const scramVerifier = (password: string, salt: Buffer = randomBytes(16), iterations = 4096): string => {
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256")
  const clientKey = createHmac("sha256", salted).update("Client Key").digest()
  const storedKey = createHash("sha256").update(clientKey).digest()
  const serverKey = createHmac("sha256", salted).update("Server Key").digest()
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`
}

/** Creates the role if it is missing, then (every run, so a rotated password applies) sets what it may do and its password. */
const ensureLogin = Effect.fnUntraced(function* (login: RoleLogin) {
  if (!roleName.test(login.name)) return yield* Effect.die(new Error(`not a plain role name: ${login.name}`))
  const sql = yield* SqlClient.SqlClient
  const existing = yield* sql`SELECT 1 FROM pg_roles WHERE rolname = ${login.name}`
  if (existing.length === 0) yield* sql.unsafe(`CREATE ROLE ${login.name}`)
  // The verifier holds only base64 and $ : characters: nothing to escape in the literal.
  yield* sql.unsafe(
    `ALTER ROLE ${login.name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS ` +
      `PASSWORD '${scramVerifier(Redacted.value(login.password))}'`
  )
})

/**
 * Creates (or updates) the roles given and grants each what its job needs,
 * and no more. Idempotent; runs after the migrations, in their transaction.
 */
export const grantRoles = Effect.fnUntraced(function* (roles: DatabaseRoles) {
  const sql = yield* SqlClient.SqlClient
  // Nobody but the owner creates objects here, temporary ones included (PostgreSQL 15 and
  // later already refuse CREATE in public to PUBLIC; older servers do not).
  yield* sql`REVOKE CREATE ON SCHEMA public FROM PUBLIC`
  yield* sql`DO $$ BEGIN EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$`
  if (Option.isSome(roles.writer)) {
    const writer = roles.writer.value
    yield* ensureLogin(writer)
    yield* sql.unsafe(`GRANT USAGE ON SCHEMA public TO ${writer.name}`)
    // SELECT too: the upsert's ON CONFLICT ... WHERE reads the stored row, and so do the tally triggers' upserts.
    yield* sql.unsafe(`GRANT SELECT, INSERT, UPDATE ON votes, option_tallies TO ${writer.name}`)
  }
  if (Option.isSome(roles.reader)) {
    const reader = roles.reader.value
    yield* ensureLogin(reader)
    yield* sql.unsafe(`GRANT USAGE ON SCHEMA public TO ${reader.name}`)
    yield* sql.unsafe(`GRANT SELECT ON option_tallies TO ${reader.name}`)
  }
})
