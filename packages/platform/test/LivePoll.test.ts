import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import type { Poll } from "@voting/domain"
import { Deferred, Effect, Fiber, Layer, Logger, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ConfigSources } from "../src/ConfigSources.ts"
import { LivePoll, pollRefreshInterval } from "../src/LivePoll.ts"

const configDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "voting-poll-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const livePollFrom = (dir: string) =>
  LivePoll.layer.pipe(Layer.provide(ConfigSources.layerFrom({ configDir: dir, env: {} })))

// The files change for real; only the refresh schedule runs on the test clock. A refresh reads the
// files on real I/O, so each test waits for what the refresh does (a new poll published, or the
// warning that the files are malformed), never for a length of time.

/** Waits until the live poll publishes one that `done` accepts, after the next scheduled refresh. */
const refreshedUntil = (live: LivePoll["Service"], done: (poll: Poll) => boolean) =>
  Effect.gen(function* () {
    const published = yield* Effect.forkChild(live.changes.pipe(Stream.filter(done), Stream.runHead))
    yield* Effect.yieldNow
    yield* TestClock.adjust(pollRefreshInterval)
    yield* Fiber.join(published)
  })

/** A logger that completes `logged` on the first warning whose message includes `text`. */
const warningLogged = (logged: Deferred.Deferred<void>, text: string) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn" && [message].flat().some((part) => String(part).includes(text)))
        Deferred.doneUnsafe(logged, Effect.void)
    })
  ])

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
          yield* refreshedUntil(live, (next) => next.title === "Pets")
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
      const refused = yield* Deferred.make<void>()
      const poll = yield* Effect.provide(
        Effect.gen(function* () {
          const live = yield* LivePoll
          writeFileSync(join(dir, "POLL_OPTIONS"), "only-one=Option")
          yield* TestClock.adjust(pollRefreshInterval)
          // The refresh read the malformed file and refused it.
          yield* Deferred.await(refused)
          return yield* live.current
        }),
        livePollFrom(dir).pipe(Layer.provide(warningLogged(refused, "poll config is malformed")))
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
