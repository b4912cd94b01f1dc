import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { ConfigSources } from "../src/ConfigSources.ts"
import { LivePoll, pollRefreshInterval } from "../src/LivePoll.ts"

const configDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "voting-poll-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const livePollFrom = (dir: string) =>
  LivePoll.layer.pipe(Layer.provide(ConfigSources.layerFrom({ configDir: dir, env: {} })))

// The files change for real; only the refresh schedule runs on the test clock.
const nextRefresh = Effect.gen(function* () {
  yield* TestClock.adjust(pollRefreshInterval)
  yield* Effect.yieldNow
  yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
})

describe("LivePoll", () => {
  it.effect("picks up edited poll files without a restart", () =>
    Effect.gen(function* () {
      const dir = yield* configDir
      writeFileSync(join(dir, "POLL_OPTIONS"), "a=Cats,b=Dogs")
      const poll = yield* Effect.provide(
        Effect.gen(function* () {
          const live = yield* LivePoll
          assert.deepStrictEqual(
            (yield* live.current).options.map((o) => o.label),
            ["Cats", "Dogs"]
          )
          writeFileSync(join(dir, "POLL_OPTIONS"), "a=Cats,b=Dogs,c=Birds")
          writeFileSync(join(dir, "POLL_TITLE"), "Pets")
          yield* nextRefresh
          return yield* live.current
        }),
        livePollFrom(dir)
      )
      assert.strictEqual(poll.title, "Pets")
      assert.deepStrictEqual(
        poll.options.map((o) => o.id),
        ["a", "b", "c"]
      )
    }).pipe(Effect.scoped)
  )

  it.effect("keeps the last good poll when a file turns malformed", () =>
    Effect.gen(function* () {
      const dir = yield* configDir
      writeFileSync(join(dir, "POLL_OPTIONS"), "x=Tea,y=Coffee")
      const poll = yield* Effect.provide(
        Effect.gen(function* () {
          const live = yield* LivePoll
          writeFileSync(join(dir, "POLL_OPTIONS"), "only-one=Option")
          yield* nextRefresh
          return yield* live.current
        }),
        livePollFrom(dir)
      )
      assert.deepStrictEqual(
        poll.options.map((o) => o.id),
        ["x", "y"]
      )
    }).pipe(Effect.scoped)
  )

  it.effect("refuses to start on a malformed poll", () =>
    Effect.gen(function* () {
      const dir = yield* configDir
      writeFileSync(join(dir, "POLL_OPTIONS"), "a=Cats,a=Dogs")
      const error = yield* Layer.build(livePollFrom(dir)).pipe(Effect.flip)
      assert.strictEqual(error.message, `config POLL_OPTIONS (file ${dir}/POLL_OPTIONS): option id "a" appears twice`)
    }).pipe(Effect.scoped)
  )
})
