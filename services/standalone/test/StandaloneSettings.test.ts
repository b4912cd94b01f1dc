import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { standaloneSettings } from "../src/StandaloneSettings.ts"

describe("standalone settings", () => {
  it.effect("defaults to the vote and result components' ports; an empty value counts as unset", () =>
    Effect.gen(function* () {
      const settings = yield* standaloneSettings({ VOTE_PORT: "", DATA_DIR: "/tmp/voting-data" })
      assert.deepStrictEqual(settings, { dataDir: resolve("/tmp/voting-data"), votePort: 8080, resultPort: 8081 })
    })
  )

  it.effect("refuses a malformed port in the components' words, and two pages on one port", () =>
    Effect.gen(function* () {
      const malformed = yield* standaloneSettings({ RESULT_PORT: "80x" }).pipe(Effect.flip)
      assert.strictEqual(
        malformed.message,
        'config RESULT_PORT (environment variable RESULT_PORT): "80x" is not a port number (1-65535)'
      )
      const shared = yield* standaloneSettings({ VOTE_PORT: "9000", RESULT_PORT: "9000" }).pipe(Effect.flip)
      assert.strictEqual(
        shared.message,
        "config RESULT_PORT (environment variables VOTE_PORT and RESULT_PORT): the vote and result pages cannot share port 9000"
      )
    })
  )
})
