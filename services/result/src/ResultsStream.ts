import type { Results } from "@voting/domain"
import { Health } from "@voting/platform"
import { Deferred, Duration, Effect, Metric, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ResultsFeed } from "./ResultsFeed.ts"

/** A comment line now and then keeps proxies from closing a quiet stream. */
const heartbeatEvery = Duration.seconds(15)

export const streamClients = Metric.gauge("result_stream_clients", { description: "Open event-stream connections" })

const encoder = new TextEncoder()
const resultsEvent = (results: Results) => encoder.encode(`event: results\ndata: ${JSON.stringify(results)}\n\n`)
const heartbeat = encoder.encode(": heartbeat\n\n")
// Tells EventSource how soon to reconnect after the stream ends (a restart, a deploy).
const preamble = encoder.encode("retry: 2000\n\n")

/**
 * `GET /api/results/stream`: the current results on connect, then an event
 * after every change. Each client is sent only the latest results, so a slow
 * one holds one value, not a backlog. On shutdown every stream ends, and the
 * browsers reconnect to another instance.
 */
export const ResultsStreamRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    const health = yield* Health
    yield* router.add("GET", "/api/results/stream", () =>
      Effect.sync(() => {
        // `changes` starts with the current results, then follows every change.
        const events = Stream.merge(
          feed.changes.pipe(Stream.changes, Stream.map(resultsEvent)),
          Stream.tick(heartbeatEvery).pipe(Stream.drop(1), Stream.as(heartbeat))
        ).pipe(
          Stream.prepend([preamble]),
          Stream.interruptWhen(Deferred.await(health.stopping)),
          Stream.onStart(Metric.modify(streamClients, 1)),
          Stream.ensuring(Metric.modify(streamClients, -1))
        )
        return HttpServerResponse.stream(events, {
          contentType: "text/event-stream",
          headers: {
            "cache-control": "no-cache, no-transform",
            "x-content-type-options": "nosniff",
            // Proxies that buffer (nginx and friends) must pass each event on at once.
            "x-accel-buffering": "no"
          }
        })
      })
    )
  })
)
