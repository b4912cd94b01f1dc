/**
 * `npm run migrate`: applies the schema, idempotently. What the worker's init
 * container runs before the worker starts. Waits for PostgreSQL to answer
 * (with backoff, up to a minute) so it can run while the database starts.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ConfigSources, LoggingLayer, PostgresConnection, retryWithBackoff } from "@voting/platform"
import { Duration, Effect, Layer } from "effect"
import { runMigrations } from "../Migrations.ts"

const program = runMigrations.pipe(
  retryWithBackoff("migration attempt failed; retrying", { upTo: Duration.minutes(1) }),
  Effect.tap((applied) =>
    Effect.logInfo(
      applied.length === 0
        ? "schema is up to date"
        : `applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`
    )
  ),
  Effect.provide(PostgresConnection.layerConfig({ applicationName: "voting-migrate", maxConnections: 1 })),
  Effect.provide(Layer.merge(ConfigSources.layer, LoggingLayer.pipe(Layer.provide(ConfigSources.layer)))),
  Effect.annotateLogs({ component: "migrate" })
)

NodeRuntime.runMain(program)
