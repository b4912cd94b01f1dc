import type { Results } from "@voting/domain"
import {
  ClientSlots,
  Health,
  requestClientKey,
  resultStreamLimitsConfig,
  type SlotRefusal,
  trustedProxiesConfig
} from "@voting/platform"
import { Deferred, Duration, Effect, Metric, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ResultsFeed } from "./ResultsFeed.ts"

/** A comment line now and then keeps proxies from closing a quiet stream. */
const heartbeatEvery = Duration.seconds(15)

export const streamClients = Metric.gauge("result_stream_clients", { description: "Open event-stream connections" })

export const resultPushes = Metric.counter("result_pushes_total", {
  description: "Results events written to event streams, one per stream per change (the first on connect included)"
})
const countPush = Metric.update(resultPushes, 1)

export const streamsRefused = Metric.counter("result_streams_refused_total", {
  description: "Event streams refused over a cap, by reason"
})

/**
 * How long a refused client is asked to wait, in seconds. A stream's slot is
 * given back as soon as its connection closes, but streams live as long as a
 * page stays open, so no slot can be promised sooner: about a heartbeat.
 */
const refusedRetryAfter = 15

const refusalText: Record<SlotRefusal, string> = {
  "per-client": "Too many result streams are open from your address. Close one, or try again later.\n",
  capacity: "This server has as many result streams open as it can hold. Try again later.\n"
}

const refused = (reason: SlotRefusal) =>
  Effect.as(
    Metric.update(Metric.withAttributes(streamsRefused, { reason }), 1),
    HttpServerResponse.text(refusalText[reason], {
      status: 503,
      headers: {
        "retry-after": `${refusedRetryAfter}`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff"
      }
    })
  )

const encoder = new TextEncoder()
const resultsEvent = (results: Results) => encoder.encode(`event: results\ndata: ${JSON.stringify(results)}\n\n`)
const heartbeat = encoder.encode(": heartbeat\n\n")
// Tells EventSource how soon to reconnect after the stream ends (a restart, a deploy).
const preamble = encoder.encode("retry: 2000\n\n")

/**
 * `GET /api/results/stream`: the current results on connect, then an event
 * after every change. Each client is sent only the latest results, so a slow
 * one holds one value, not a backlog. On shutdown every stream ends, and the
 * browsers reconnect to another instance. Open streams are capped per client
 * address (RESULT_STREAMS_PER_CLIENT, the ClientAddress rule) and per process
 * (RESULT_STREAMS_MAX): one over a cap is answered 503 with Retry-After.
 */
export const ResultsStreamRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    const health = yield* Health
    const limits = yield* resultStreamLimitsConfig
    const trusted = yield* trustedProxiesConfig
    const slots = new ClientSlots(limits.perClient, limits.max)
    yield* router.add("GET", "/api/results/stream", (request) =>
      Effect.suspend(() => {
        const release = slots.hold(requestClientKey(request, trusted), request)
        if (typeof release === "string") return refused(release)
        // `changes` starts with the current results, then follows every change.
        const events = Stream.merge(
          feed.changes.pipe(
            Stream.changes,
            Stream.map(resultsEvent),
            Stream.tap(() => countPush)
          ),
          Stream.tick(heartbeatEvery).pipe(Stream.drop(1), Stream.as(heartbeat))
        ).pipe(
          Stream.prepend([preamble]),
          Stream.interruptWhen(Deferred.await(health.stopping)),
          Stream.onStart(Metric.modify(streamClients, 1)),
          Stream.ensuring(Effect.andThen(Metric.modify(streamClients, -1), Effect.sync(release)))
        )
        return Effect.succeed(
          HttpServerResponse.stream(events, {
            contentType: "text/event-stream",
            headers: {
              "cache-control": "no-cache, no-transform",
              "x-content-type-options": "nosniff",
              // Proxies that buffer (nginx and friends) must pass each event on at once.
              "x-accel-buffering": "no"
            }
          })
        )
      })
    )
  })
)
