import { assert, describe, it } from "@effect/vitest"
import { ConfigSources, Health, LivePoll } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import {
  conventionProblems,
  documentedMetrics,
  exportedMetrics,
  sampleValue,
  scrapeMetrics
} from "@voting/test-support/MetricsText"
import { pollOf } from "@voting/test-support/Polls"
import { freePort } from "@voting/test-support/Processes"
import { Effect, Layer } from "effect"
import { VoteApp } from "../src/VoteServer.ts"

const scrape = (port: number) => Effect.promise(() => scrapeMetrics(port))

describe("the vote service's /metrics", () => {
  it.live("exports every documented metric with HELP and TYPE, by the naming conventions", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      yield* Layer.build(
        VoteApp({ port }).pipe(
          Layer.provide(VoteQueue.layerMemory),
          Layer.provide(LivePoll.layerStatic(pollOf("Pets", "a=Cats,b=Dogs"))),
          Layer.provideMerge(Health.layer),
          Layer.provide(ConfigSources.layerFrom({ env: {} }))
        )
      )
      // Before any vote: every family is there, each refusal reason at 0.
      const before = yield* scrape(port)
      assert.strictEqual(sampleValue(before, "votes_accepted_total"), 0)
      assert.strictEqual(sampleValue(before, "votes_rejected_total", '{reason="rate-limited"}'), 0)
      assert.strictEqual(sampleValue(before, "vote_queue_entries"), 0)

      const vote = (choice: string) =>
        Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/api/vote`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ vote: choice })
          }).then((response) => response.status)
        )
      assert.strictEqual(yield* vote("a"), 202)
      assert.strictEqual(yield* vote("zebra"), 400)

      const families = yield* scrape(port)
      assert.deepStrictEqual(conventionProblems(families), [])
      assert.deepStrictEqual(exportedMetrics(families), documentedMetrics("vote"))
      assert.strictEqual(sampleValue(families, "votes_accepted_total"), 1)
      assert.strictEqual(sampleValue(families, "votes_rejected_total", '{reason="unknown-option"}'), 1)
      const duration = "http_server_request_duration_seconds_count"
      assert.strictEqual(sampleValue(families, duration, '{route="/api/vote",method="POST",status_class="2xx"}'), 1)
      assert.strictEqual(sampleValue(families, duration, '{route="/api/vote",method="POST",status_class="4xx"}'), 1)
    }).pipe(Effect.scoped)
  )
})
