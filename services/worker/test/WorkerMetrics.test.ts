import { assert, describe, it } from "@effect/vitest"
import { ConfigSources, Health, LivePoll } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import { VoteStore } from "@voting/store"
import {
  conventionProblems,
  documentedMetrics,
  exportedMetrics,
  sampleValue,
  scrapeMetrics
} from "@voting/test-support/MetricsText"
import { pollOf } from "@voting/test-support/Polls"
import { freePort } from "@voting/test-support/Processes"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { defaultWorkerSettings } from "../src/VoteWorker.ts"
import { WorkerApp } from "../src/WorkerServer.ts"

const scrape = (port: number) => Effect.promise(() => scrapeMetrics(port))

const at = "2026-11-22T10:00:00.000Z"
const voter = (name: string) => name.padEnd(22, "0")

describe("the worker's /metrics", () => {
  it.live("exports every documented metric with HELP and TYPE; batch size and commit time per committed batch", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const context = yield* Layer.build(
        WorkerApp({ port, settings: { ...defaultWorkerSettings, block: Duration.millis(20) } }).pipe(
          Layer.provideMerge(VoteQueue.layerMemory),
          Layer.provide(VoteStore.layerMemory),
          Layer.provide(LivePoll.layerStatic(pollOf("Pets", "a=Cats,b=Dogs"))),
          Layer.provideMerge(Health.layer),
          Layer.provide(ConfigSources.layerFrom({ env: {} }))
        )
      )
      // Before any vote: every family is there, at 0.
      const before = yield* scrape(port)
      assert.strictEqual(sampleValue(before, "worker_dead_letters_total"), 0)
      assert.strictEqual(sampleValue(before, "worker_batch_size_votes_count"), 0)
      assert.strictEqual(sampleValue(before, "worker_commit_duration_seconds_count"), 0)

      const queue = Context.get(context, VoteQueue)
      for (const name of ["ann", "bob", "cy"]) yield* queue.enqueue({ voter: voter(name), option: "a", at })
      yield* queue.enqueue({ voter: voter("dee"), option: "zebra", at })
      const families = yield* scrape(port).pipe(
        Effect.repeat({
          schedule: Schedule.spaced("20 millis"),
          until: (scraped) => sampleValue(scraped, "worker_dead_letters_total") === 1
        })
      )
      assert.deepStrictEqual(conventionProblems(families), [])
      assert.deepStrictEqual(exportedMetrics(families), documentedMetrics("worker"))
      assert.strictEqual(sampleValue(families, "worker_votes_recorded_total"), 3)
      const batches = sampleValue(families, "worker_batches_total") ?? 0
      assert.isAtLeast(batches, 1)
      // One observation per committed batch: the sizes add up to the votes recorded.
      assert.strictEqual(sampleValue(families, "worker_batch_size_votes_count"), batches)
      assert.strictEqual(sampleValue(families, "worker_batch_size_votes_sum"), 3)
      assert.strictEqual(sampleValue(families, "worker_commit_duration_seconds_count"), batches)
      const commitSeconds = sampleValue(families, "worker_commit_duration_seconds_sum") ?? -1
      assert.isAtLeast(commitSeconds, 0)
      assert.isBelow(commitSeconds, 1)
      // Stops the loop after its current read, as SIGTERM would.
      yield* Context.get(context, Health).beginShutdown
    }).pipe(Effect.scoped)
  )
})
