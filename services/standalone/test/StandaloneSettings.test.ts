import { resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { listensBeyondThisMachine, pageUrl, standaloneSettings } from "../src/StandaloneSettings.ts"

describe("standalone settings", () => {
  it.effect("defaults to the vote and result components' ports on 127.0.0.1; an empty value counts as unset", () =>
    Effect.gen(function* () {
      const settings = yield* standaloneSettings({ VOTE_PORT: "", HOST: "", DATA_DIR: "/tmp/voting-data" })
      assert.deepStrictEqual(settings, {
        dataDir: resolve("/tmp/voting-data"),
        host: "127.0.0.1",
        votePort: 8080,
        resultPort: 8081
      })
    })
  )

  it.effect("listens on the HOST given: an address or a host name; anything else is refused in one line", () =>
    Effect.gen(function* () {
      for (const host of ["0.0.0.0", "::", "192.168.1.20", "fe80::1", "localhost", "my-laptop.local"]) {
        assert.strictEqual((yield* standaloneSettings({ HOST: host })).host, host)
      }
      const malformed = yield* standaloneSettings({ HOST: "http://0.0.0.0:8080" }).pipe(Effect.flip)
      assert.strictEqual(
        malformed.message,
        'config HOST (environment variable HOST): "http://0.0.0.0:8080" is not an IP address or a host name'
      )
    })
  )

  it("prints and links the pages at localhost unless HOST is one other address", () => {
    assert.strictEqual(pageUrl("127.0.0.1", 8080).href, "http://localhost:8080/")
    assert.strictEqual(pageUrl("0.0.0.0", 8080).href, "http://localhost:8080/")
    assert.strictEqual(pageUrl("192.168.1.20", 8081).href, "http://192.168.1.20:8081/")
    assert.strictEqual(pageUrl("fe80::1", 8081).href, "http://[fe80::1]:8081/")
    assert.isFalse(listensBeyondThisMachine("127.0.0.1"))
    assert.isTrue(listensBeyondThisMachine("0.0.0.0"))
  })

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
