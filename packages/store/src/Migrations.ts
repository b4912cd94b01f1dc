import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { type DatabaseRoles, grantRoles } from "./DatabaseRoles.ts"

/**
 * The schema, in code. `votes` holds one current vote per voter;
 * `option_tallies` holds the count per option, kept equal to the rows by
 * statement-level triggers in the same transaction, so reading the results
 * never scans the votes. Triggers see the row each statement really changed
 * (after any concurrent writer), which keeps the counts right with several
 * workers.
 */
const migrations = {
  "0001_create_votes": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE votes (
        voter_id    text PRIMARY KEY,
        option_id   text NOT NULL,
        entry_ms    bigint NOT NULL,
        entry_seq   bigint NOT NULL,
        accepted_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      )`
    yield* sql`
      CREATE TABLE option_tallies (
        option_id  text PRIMARY KEY,
        votes      bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`
    // No CHECK (votes >= 0): PostgreSQL checks the row an upsert proposes (a bare -1) before
    // it resolves the conflict. Rows are locked in option order so two workers never
    // wait on each other in a cycle.
    yield* sql`
      CREATE FUNCTION tally_inserted_votes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO option_tallies (option_id, votes)
          SELECT option_id, count(*) FROM inserted GROUP BY option_id ORDER BY option_id
          ON CONFLICT (option_id) DO UPDATE
            SET votes = option_tallies.votes + excluded.votes, updated_at = now();
        RETURN NULL;
      END $$`
    yield* sql`
      CREATE FUNCTION tally_changed_votes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO option_tallies (option_id, votes)
          SELECT option_id, sum(delta) FROM (
            SELECT n.option_id, 1 AS delta FROM updated n JOIN replaced o USING (voter_id)
              WHERE n.option_id <> o.option_id
            UNION ALL
            SELECT o.option_id, -1 FROM updated n JOIN replaced o USING (voter_id)
              WHERE n.option_id <> o.option_id
          ) AS deltas
          GROUP BY option_id ORDER BY option_id
          ON CONFLICT (option_id) DO UPDATE
            SET votes = option_tallies.votes + excluded.votes, updated_at = now();
        RETURN NULL;
      END $$`
    yield* sql`
      CREATE TRIGGER votes_tally_insert AFTER INSERT ON votes
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION tally_inserted_votes()`
    yield* sql`
      CREATE TRIGGER votes_tally_update AFTER UPDATE ON votes
        REFERENCING OLD TABLE AS replaced NEW TABLE AS updated
        FOR EACH STATEMENT EXECUTE FUNCTION tally_changed_votes()`
  })
}

const migrate = Migrator.make({})({ loader: Migrator.fromRecord(migrations) })

/** Any fixed number: the key of the lock every migrating process takes. */
const migrationLockKey = 0x766f7465

/**
 * Applies every migration not yet applied. Several init containers may run
 * this at once: a transaction-scoped advisory lock makes them take turns, so
 * the second finds the work done (the migrator's own table lock cannot help
 * before its table exists).
 */
export const runMigrations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.andThen(sql`SELECT pg_advisory_xact_lock(${migrationLockKey})`, migrate))
})

/**
 * The migrations, then the job roles given (created or updated, and granted
 * what their jobs need), in one transaction under the same lock: what
 * `npm run migrate` runs as the owner.
 */
export const migrateAndGrant = (roles: DatabaseRoles) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(${migrationLockKey})`
        const applied = yield* migrate
        yield* grantRoles(roles)
        return applied
      })
    )
  })
