/**
 * `npm run migrate`: applies the schema, idempotently. What the worker's init
 * container runs before the worker starts. Waits for PostgreSQL to answer
 * (with backoff, up to a minute) so it can run while the database starts.
 * Connects as the owner (POSTGRES_USER) and creates or updates the writer's
 * and the reader's roles whose passwords it is given, with their grants.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import {
  ConfigSources,
  databaseRolesConfig,
  LoggingLayer,
  PostgresConnection,
  retryWithBackoff
} from "@voting/platform"
import { Duration, Effect, Layer, Option } from "effect"
import { migrateAndGrant } from "../Migrations.ts"

const program = Effect.gen(function* () {
  const roles = yield* databaseRolesConfig
  const applied = yield* migrateAndGrant(roles).pipe(
    retryWithBackoff("migration attempt failed; retrying", { upTo: Duration.minutes(1) })
  )
  yield* Effect.logInfo(
    applied.length === 0 ? "schema is up to date" : `applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`
  )
  // Names only: the passwords are never logged.
  const granted = [roles.writer, roles.reader].flatMap((role) => (Option.isSome(role) ? [role.value.name] : []))
  yield* Effect.logInfo(
    granted.length === 0 ? "no job roles configured" : `roles ${granted.join(", ")} exist with their grants`
  )
}).pipe(
  Effect.provide(PostgresConnection.layerConfig({ applicationName: "voting-migrate", maxConnections: 1 })),
  Effect.provide(Layer.merge(ConfigSources.layer, LoggingLayer.pipe(Layer.provide(ConfigSources.layer)))),
  Effect.annotateLogs({ component: "migrate" })
)

NodeRuntime.runMain(program)
