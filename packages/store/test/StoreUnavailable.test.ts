import { assert, describe, it } from "@effect/vitest"
import { Cause } from "effect"
import { SqlError } from "effect/sql"
import { StoreUnavailable } from "../src/StoreUnavailable.ts"

describe("StoreUnavailable", () => {
  it("keeps the SqlError as its cause and says what went wrong in PostgreSQL's words", () => {
    const fromServer = Object.assign(new Error('password authentication failed for user "voting"'), { code: "28P01" })
    const sqlError = new SqlError.SqlError({
      reason: new SqlError.AuthenticationError({
        cause: fromServer,
        message: "PgConnection: Query failed",
        operation: "query"
      })
    })
    const error = new StoreUnavailable({ operation: "ping", cause: sqlError })
    assert.strictEqual(error.cause, sqlError)
    assert.strictEqual(error.message, 'store unavailable during ping: password authentication failed for user "voting"')
  })

  it("says why when the database never answered", () => {
    const error = new StoreUnavailable({
      operation: "record votes",
      cause: new Cause.TimeoutError("no answer within 10s")
    })
    assert.strictEqual(error.message, "store unavailable during record votes: no answer within 10s")
  })
})
