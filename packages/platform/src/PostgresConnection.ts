import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer } from "effect"
import { type DatabaseRole, postgresConfigFor } from "./PostgresConfig.ts"

/**
 * The PostgreSQL client every component uses, from DATABASE_URL or the
 * POSTGRES_* keys. Connections open lazily, so a component starts while the
 * database is down and reports it through readiness instead of crashing.
 * `role` is the database role the process connects as (the owner when not
 * given): the worker writes as the writer, the result service reads as the reader.
 */
export const PostgresConnection = {
  layerConfig: (options: {
    readonly applicationName: string
    readonly maxConnections?: number
    readonly role?: DatabaseRole
  }) =>
    Layer.unwrap(
      Effect.gen(function* () {
        const settings = yield* postgresConfigFor(options.role ?? "owner")
        return PgClient.layer({
          ...settings,
          applicationName: options.applicationName,
          maxConnections: options.maxConnections ?? 4,
          connectTimeout: Duration.seconds(3),
          idleTimeout: Duration.seconds(30)
        })
      })
    )
}
