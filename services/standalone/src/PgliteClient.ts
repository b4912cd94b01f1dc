import { mkdirSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { PgClient, PgTypes } from "@effect/sql-pg"
import type { Results } from "@electric-sql/pglite"
import { Effect, Layer, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, SqlError } from "effect/sql"
import type { PgliteFailure, PgliteReply, PgliteRequest, PgliteThreadData } from "./PgliteProtocol.ts"

/**
 * PostgreSQL embedded in this process (PGlite, PostgreSQL compiled to
 * WebAssembly) as an `effect/sql` SqlClient: the same SQL, the same
 * migrations, no server. PGlite runs on a thread of its own (PgliteThread.ts):
 * a statement is one synchronous WebAssembly call, and on the main thread each
 * commit stopped both pages for as long as it took. PGlite is one session, so
 * statements take turns and a transaction holds it to itself until it ends.
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

/** An error from the thread, as PGlite raised it: its message and PostgreSQL's fields (code, detail, ...). */
const revive = (failure: PgliteFailure): Error =>
  Object.assign(new Error(failure.message), failure.fields, { name: failure.name })

const sqlError = (operation: string) => (cause: unknown) =>
  new SqlError.SqlError({
    reason: new SqlError.UnknownError({
      cause,
      message: cause instanceof Error ? cause.message : String(cause),
      operation
    })
  })

type Request = PgliteRequest extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never

/** The database thread as the client sees it. */
interface DatabaseThread {
  /** Posts one request and waits for its answer (a statement's result, or nothing). */
  readonly request: (message: Request) => Effect.Effect<Results<unknown> | undefined, Error>
  /** Closes the database (a clean shutdown: PostgreSQL's shutdown checkpoint) and waits for the thread to end. */
  readonly close: Effect.Effect<void>
}

/**
 * Starts the database thread and waits until PGlite has opened `dataDir`.
 * If the thread dies, every request waiting and every later one fails.
 */
const startThread = (dataDir: string): Effect.Effect<DatabaseThread, Error> =>
  Effect.suspend(() => {
    const worker = new Worker(new URL("./PgliteThread.ts", import.meta.url), {
      workerData: { dataDir } satisfies PgliteThreadData
    })
    const waiting = new Map<number, (reply: PgliteReply) => void>()
    let ended: Error | undefined
    let nextId = 1
    const end = (error: Error) => {
      ended ??= error
      const failed: PgliteReply = {
        id: 0,
        ok: false,
        failure: { name: error.name, message: error.message, fields: {} }
      }
      for (const answer of waiting.values()) answer(failed)
      waiting.clear()
    }
    worker.on("message", (reply: PgliteReply) => {
      const answer = waiting.get(reply.id)
      waiting.delete(reply.id)
      answer?.(reply)
    })
    worker.on("error", end)
    const exited = new Promise<void>((resolve) =>
      worker.once("exit", (code) => {
        end(new Error(`the embedded database's thread ended (exit code ${code})`))
        resolve()
      })
    )

    /** The answer to request `id`; the request is posted by `post`, once the answer is awaited. */
    const answerTo = (id: number, post: () => void) =>
      Effect.callback<Results<unknown> | undefined, Error>((resume) => {
        if (ended !== undefined) return resume(Effect.fail(ended))
        waiting.set(id, (reply) => resume(reply.ok ? Effect.succeed(reply.result) : Effect.fail(revive(reply.failure))))
        post()
        // An interrupted caller stops waiting; the statement itself runs to its end on the thread.
        return Effect.sync(() => waiting.delete(id))
      })
    const request = (message: Request) => {
      const id = nextId++
      return answerTo(id, () => worker.postMessage({ ...message, id } satisfies PgliteRequest))
    }
    const close = request({ kind: "close" }).pipe(
      Effect.andThen(Effect.promise(() => exited)),
      Effect.timeout("10 seconds"),
      Effect.catchCause(() => Effect.promise(() => worker.terminate())),
      Effect.asVoid
    )
    // Id 0 answers the opening; the thread posts it by itself. A thread that never opened is not left running.
    return answerTo(0, () => undefined).pipe(
      Effect.onError(() => Effect.promise(() => worker.terminate())),
      Effect.as({ request, close })
    )
  })

const makeClient = Effect.fnUntraced(function* (options: { readonly dataDir: string }) {
  mkdirSync(options.dataDir, { recursive: true })
  const thread = yield* Effect.acquireRelease(
    Effect.mapError(startThread(options.dataDir), sqlError("open")),
    (thread) => thread.close
  )
  const turn = yield* Semaphore.make(1)

  const query = (sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
    thread.request({ kind: "query", sql, rowMode, ...bind(params) }).pipe(
      Effect.map((result) => result as Results<unknown>),
      Effect.mapError(sqlError("execute"))
    )
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
