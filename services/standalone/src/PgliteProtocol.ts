import type { Results } from "@electric-sql/pglite"

/** What PgliteClient asks of the database thread (PgliteThread.ts). */
export type PgliteRequest =
  | {
      readonly id: number
      readonly kind: "query"
      readonly sql: string
      readonly values: ReadonlyArray<unknown>
      /** A parameter's type OID, or 0 to leave it to the server. */
      readonly types: ReadonlyArray<number>
      readonly rowMode: "object" | "array"
    }
  | { readonly id: number; readonly kind: "close" }

/**
 * A failure as it crosses the thread boundary: structured cloning keeps an
 * Error's message but drops the fields PostgreSQL adds (SQLSTATE, detail, ...).
 */
export interface PgliteFailure {
  readonly name: string
  readonly message: string
  readonly fields: Readonly<Record<string, string>>
}

/**
 * The thread's answers. Id 0 answers the opening of the database, before any
 * request; every other id answers the request that carried it.
 */
export type PgliteReply =
  | { readonly id: number; readonly ok: true; readonly result?: Results<unknown> }
  | { readonly id: number; readonly ok: false; readonly failure: PgliteFailure }

/** The data directory the thread opens, passed as its workerData. */
export interface PgliteThreadData {
  readonly dataDir: string
}
