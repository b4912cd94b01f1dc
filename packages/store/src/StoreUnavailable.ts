import { Schema } from "effect"
import { SqlError } from "effect/sql"

/**
 * What went wrong, in the words of whoever said it. A SqlError's reason keeps
 * what the driver failed with as its cause: PostgreSQL's own error (with its
 * SQLSTATE `code`) or the socket's, which say what actually went wrong.
 */
const describe = (cause: unknown): string => {
  if (SqlError.isSqlError(cause))
    return cause.reason.cause instanceof Error ? cause.reason.cause.message : cause.message
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * The database could not be read or written; the caller may retry. The cause
 * is what the store failed with (a SqlError, or a TimeoutError when the
 * database never answered); the message says it in the database's words,
 * never more (the cause itself is not printed).
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `store unavailable during ${this.operation}: ${describe(this.cause)}`
  }
}
