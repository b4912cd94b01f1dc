import { mkdirSync } from "node:fs"
import { PgClient, PgTypes } from "@effect/sql-pg"
import { PGlite, type Results } from "@electric-sql/pglite"
import { Effect, Layer, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError } from "effect/sql"

/**
 * PostgreSQL embedded in this process (PGlite, PostgreSQL compiled to
 * WebAssembly) as an `effect/sql` SqlClient: the same SQL, the same
 * migrations, no server. PGlite is one session, so statements take turns and a
 * transaction holds it to itself until it ends.
 */
export const PgliteClient = {
  layer: (options: { readonly dataDir: string }) =>
    Layer.effect(SqlClient.SqlClient, makeClient(options)).pipe(Layer.provide(Reactivity.layer))
}

const timestampOids: ReadonlySet<number> = new Set([
  PgTypes.OID.timestamp,
  PgTypes.OID.timestamptz,
  PgTypes.arrayOidFor(PgTypes.OID.timestamp) ?? -1,
  PgTypes.arrayOidFor(PgTypes.OID.timestamptz) ?? -1
])

/**
 * A typed parameter (`PgTypes.array(values, oid)`) binds with its declared type;
 * PgTypes takes instants as epoch milliseconds, PGlite as Dates.
 */
const bind = (params: ReadonlyArray<unknown>) => {
  const values: Array<unknown> = []
  const types: Array<number> = []
  for (const param of params) {
    if (!PgTypes.isParameter(param)) {
      values.push(param)
      types.push(0) // left to the server, as the PostgreSQL client does
      continue
    }
    const asDate = (value: unknown) =>
      timestampOids.has(param.oid) && typeof value === "number" ? new Date(value) : value
    values.push(Array.isArray(param.value) ? param.value.map(asDate) : asDate(param.value))
    types.push(param.oid)
  }
  return { values, types }
}

const sqlError = (operation: string) => (cause: unknown) =>
  new SqlError.SqlError({
    reason: new SqlError.UnknownError({
      cause,
      message: cause instanceof Error ? cause.message : String(cause),
      operation
    })
  })

const makeClient = Effect.fnUntraced(function* (options: { readonly dataDir: string }) {
  mkdirSync(options.dataDir, { recursive: true })
  const db = yield* Effect.acquireRelease(
    Effect.tryPromise({ try: () => PGlite.create({ dataDir: options.dataDir }), catch: sqlError("open") }),
    (db) => Effect.promise(() => db.close())
  )
  const turn = yield* Semaphore.make(1)

  const query = (sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
    Effect.tryPromise({
      try: (): Promise<Results<unknown>> => {
        const { values, types } = bind(params)
        return db.query(sql, values, { rowMode, paramTypes: types })
      },
      catch: sqlError("execute")
    })
  const rows = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.map(query(sql, params, "object"), (result) => result.rows as ReadonlyArray<SqlConnection.Row>)
  const withTransform = (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) => (transformRows === undefined ? rows(sql, params) : Effect.map(rows(sql, params), transformRows))
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    Effect.map(query(sql, params, "array"), (result) => result.rows as ReadonlyArray<ReadonlyArray<unknown>>)

  const connection: SqlConnection.Connection = {
    execute: withTransform,
    executeUnprepared: withTransform,
    executeRaw: (sql, params) => query(sql, params, "object"),
    executeValues: values,
    executeValuesUnprepared: values,
    executeStream: (sql, params, transformRows) =>
      Stream.unwrap(Effect.map(withTransform(sql, params, transformRows), (all) => Stream.fromIterable(all)))
  }
  // Held for one statement, or for a whole transaction (its statements then run on it directly).
  const acquire = Effect.as(turn.takeScoped(1), connection)

  return yield* SqlClient.make({
    acquirer: acquire,
    transactionAcquirer: acquire,
    compiler: PgClient.makeCompiler(),
    driver: "pglite",
    spanAttributes: [["db.system.name", "postgresql"]]
  })
})
