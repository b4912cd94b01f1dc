import { assert, describe, it } from "@effect/vitest"
import { compareEntryIds, type VoteMessage } from "@voting/domain"
import { Duration, Effect, Fiber, type Layer } from "effect"
import { VoteQueue } from "../src/VoteQueue.ts"

const message = (voter: string, option = "a"): VoteMessage => ({
  voter: voter.padEnd(22, "x"),
  option,
  at: "2026-11-22T10:00:00.000Z"
})

const noWait = Duration.millis(10)

/**
 * What every VoteQueue must do, run against each implementation: the Redis
 * stream and its in-memory twin must not differ in anything a worker relies on.
 */
export const voteQueueContract = (name: string, makeLayer: () => Layer.Layer<VoteQueue, unknown>) =>
  describe(`${name} (VoteQueue contract)`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, VoteQueue>) =>
      effect.pipe(Effect.provide(makeLayer()), Effect.scoped) as Effect.Effect<A, E>

    it.live("delivers entries in order with growing ids, each once, and forgets them when acknowledged", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          const ids = yield* Effect.forEach(["v1", "v2", "v3"], (voter) => queue.enqueue(message(voter)))
          for (let i = 1; i < ids.length; i++) assert.isBelow(compareEntryIds(ids[i - 1]!, ids[i]!), 0)

          const first = yield* queue.receive({ consumer: "c1", count: 2, block: noWait })
          assert.deepStrictEqual(
            first.map((d) => d.id),
            ids.slice(0, 2)
          )
          assert.deepStrictEqual(first[0]?.fields, message("v1"))
          const second = yield* queue.receive({ consumer: "c2", count: 10, block: noWait })
          assert.deepStrictEqual(
            second.map((d) => d.id),
            ids.slice(2)
          )
          assert.deepStrictEqual(yield* queue.receive({ consumer: "c1", count: 10, block: noWait }), [])

          const { oldestAgeMs, ...counts } = yield* queue.depth
          assert.deepStrictEqual(counts, { entries: 3, pending: 3, deadLetters: 0 })
          // The oldest entry's age comes from its id: at least 0, and well under this test's run.
          assert.isAtLeast(oldestAgeMs, 0)
          assert.isBelow(oldestAgeMs, 10_000)
          yield* queue.acknowledge(ids)
          assert.deepStrictEqual(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 0, oldestAgeMs: 0 })
        })
      )
    )

    it.live("ages the oldest entry not yet finished, delivered or not, and reads 0 when empty", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          assert.strictEqual((yield* queue.depth).oldestAgeMs, 0)
          const first = yield* queue.enqueue(message("v1"))
          yield* Effect.sleep("200 millis")
          const second = yield* queue.enqueue(message("v2"))
          const [delivered] = yield* queue.receive({ consumer: "c1", count: 1, block: noWait })
          assert.strictEqual(delivered?.id, first)
          const both = (yield* queue.depth).oldestAgeMs
          assert.isAtLeast(both, 200)
          // Finishing the oldest makes the next one (200 ms younger) the oldest.
          yield* queue.acknowledge([first])
          const next = (yield* queue.depth).oldestAgeMs
          assert.isBelow(next, both - 100)
          yield* queue.receive({ consumer: "c1", count: 1, block: noWait })
          yield* queue.acknowledge([second])
          assert.strictEqual((yield* queue.depth).oldestAgeMs, 0)
        })
      )
    )

    it.live("carries a vote's traceparent in its entry, and only when the vote has one", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
          // In one round, so the Redis queue sends both in one batch: a traced vote and an untraced one.
          const [traced, plain] = yield* Effect.all(
            [queue.enqueue({ ...message("t1"), traceparent }), queue.enqueue(message("t2"))],
            { concurrency: "unbounded" }
          )
          const delivered = yield* queue.receive({ consumer: "c1", count: 10, block: noWait })
          const fieldsOf = (id: unknown) => delivered.find((d) => d.id === id)?.fields
          assert.deepStrictEqual(fieldsOf(traced), { ...message("t1"), traceparent })
          assert.deepStrictEqual(fieldsOf(plain), message("t2"))
        })
      )
    )

    it.live("wakes a waiting consumer when an entry arrives", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          const waiting = yield* Effect.forkChild(
            queue.receive({ consumer: "c1", count: 10, block: Duration.seconds(5) })
          )
          yield* Effect.sleep("50 millis")
          const id = yield* queue.enqueue(message("late"))
          const delivered = yield* Fiber.await(waiting)
          assert.strictEqual(delivered._tag, "Success")
          assert.deepStrictEqual(delivered._tag === "Success" ? delivered.value.map((d) => d.id) : [], [id])
        })
      )
    )

    it.live("hands entries a consumer left idle to another consumer, and only those", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          const [abandoned, kept] = yield* Effect.forEach(["dies", "lives"], (voter) => queue.enqueue(message(voter)))
          yield* queue.receive({ consumer: "crashed", count: 1, block: noWait })
          yield* Effect.sleep("150 millis")
          yield* queue.receive({ consumer: "alive", count: 1, block: noWait })

          const reclaimed = yield* queue.reclaim({ consumer: "rescuer", count: 10, minIdle: Duration.millis(100) })
          assert.deepStrictEqual(
            reclaimed.map((d) => d.id),
            [abandoned]
          )
          assert.deepStrictEqual(reclaimed[0]?.fields, message("dies"))
          // Claiming resets the idle time: nobody else takes it straight back.
          assert.deepStrictEqual(
            yield* queue.reclaim({ consumer: "other", count: 10, minIdle: Duration.millis(100) }),
            []
          )
          yield* queue.acknowledge([abandoned!, kept!])
          assert.strictEqual((yield* queue.depth).entries, 0)
        })
      )
    )

    it.live("moves a dead letter aside and off the queue", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* VoteQueue
          yield* queue.enqueue(message("bad", "not-an-option"))
          const [delivery] = yield* queue.receive({ consumer: "c1", count: 1, block: noWait })
          assert.isDefined(delivery)
          yield* queue.deadLetter(delivery!, "option is not an option of the poll")
          assert.deepStrictEqual(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 1, oldestAgeMs: 0 })
          assert.deepStrictEqual(yield* queue.reclaim({ consumer: "c2", count: 10, minIdle: Duration.millis(0) }), [])
        })
      )
    )
  })
