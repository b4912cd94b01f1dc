import { assert, describe, it } from "@effect/vitest"
import { type EntryId, type QueuedVote, Vote, type VoterId } from "@voting/domain"
import { ConfigSources, Health, LivePoll } from "@voting/platform"
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
import { takeResultsEvents } from "@voting/test-support/ResultsEvents"
import { Context, DateTime, Effect, Layer, Schedule } from "effect"
import { ResultApp } from "../src/ResultServer.ts"

const scrape = (port: number) => Effect.promise(() => scrapeMetrics(port))

const vote = (n: number): QueuedVote => ({
  entryId: `${n}-0` as EntryId,
  vote: new Vote(
    {
      voterId: `voter${n}`.padEnd(22, "0") as VoterId,
      option: "a" as Vote["option"],
      acceptedAt: DateTime.makeUnsafe(0)
    },
    { disableChecks: true }
  )
})

/** Opens /api/results/stream and counts the `results` events it receives. */
const openStream = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const controller = new AbortController()
      const received = { events: 0 }
      void fetch(`http://127.0.0.1:${port}/api/results/stream`, { signal: controller.signal })
        .then(async (response) => {
          let buffered = ""
          for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
            const taken = takeResultsEvents(buffered + chunk)
            buffered = taken.rest
            received.events += taken.events.length
          }
        })
        .catch(() => {})
      return { received, close: () => controller.abort() }
    }),
    (stream) => Effect.sync(stream.close)
  )

const until = <A>(check: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.repeat(check, { schedule: Schedule.spaced("20 millis"), until: done })

describe("the result service's /metrics", () => {
  it.live("exports every documented metric with HELP and TYPE, and counts each results event each stream is sent", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const context = yield* Layer.build(
        ResultApp({ port }).pipe(
          Layer.provideMerge(VoteStore.layerMemory),
          Layer.provide(LivePoll.layerStatic(pollOf("Pets", "a=Cats,b=Dogs"))),
          Layer.provideMerge(Health.layer),
          Layer.provide(ConfigSources.layerFrom({ env: {} }))
        )
      )
      const before = yield* scrape(port)
      assert.strictEqual(sampleValue(before, "result_pushes_total"), 0)
      assert.strictEqual(sampleValue(before, "result_streams_refused_total", '{reason="capacity"}'), 0)

      // Two streams each get the results on connect: two pushes.
      const streams = yield* Effect.all([openStream(port), openStream(port)])
      yield* until(
        Effect.sync(() => streams.map((s) => s.received.events)),
        (counts) => counts.every((n) => n === 1)
      )
      assert.strictEqual(sampleValue(yield* scrape(port), "result_pushes_total"), 2)
      // A change is pushed to each: two more.
      yield* Context.get(context, VoteStore).record([vote(1)])
      yield* until(
        Effect.sync(() => streams.map((s) => s.received.events)),
        (counts) => counts.every((n) => n === 2)
      )
      const families = yield* scrape(port)
      assert.strictEqual(sampleValue(families, "result_pushes_total"), 4)
      assert.strictEqual(sampleValue(families, "result_stream_clients"), 2)
      assert.deepStrictEqual(conventionProblems(families), [])
      assert.deepStrictEqual(exportedMetrics(families), documentedMetrics("result"))
      assert.strictEqual(
        sampleValue(
          families,
          "http_server_request_duration_seconds_count",
          '{route="/api/results/stream",method="GET",status_class="2xx"}'
        ),
        2
      )
      yield* Context.get(context, Health).beginShutdown
    }).pipe(Effect.scoped)
  )
})
