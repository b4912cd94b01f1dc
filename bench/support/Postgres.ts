import { PgClient } from "@effect/sql-pg"
import { Effect, ManagedRuntime, Redacted } from "effect"

/** A plain promise-returning SQL connection for the bench's own set-up and checks. */
export interface Sql {
  readonly query: <A extends object = Record<string, unknown>>(text: string) => Promise<ReadonlyArray<A>>
  readonly close: () => Promise<void>
}

export const connectPostgres = (url: string): Sql => {
  const runtime = ManagedRuntime.make(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
  return {
    query: <A extends object>(text: string) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          return (yield* sql.unsafe(text)) as unknown as ReadonlyArray<A>
        })
      ),
    close: () => runtime.dispose()
  }
}

/** The URL of another database on the same server. */
export const databaseUrlFor = (serverUrl: string, name: string) => {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.href
}
