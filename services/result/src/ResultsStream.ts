import type { Results } from "@voting/domain"
import {
  ClientSlots,
  Health,
  nodeResponseOf,
  requestClientKey,
  resultStreamLimitsConfig,
  type SlotRefusal,
  trustedProxiesConfig
} from "@voting/platform"
import { Deferred, Duration, Effect, Metric, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { type EventSink, EventStreams, frame } from "./EventStreams.ts"
import { ResultsFeed } from "./ResultsFeed.ts"

/** A comment line now and then keeps proxies from closing a quiet stream. */
const heartbeatEvery = Duration.seconds(15)

export const streamClients = Metric.gauge("result_stream_clients", { description: "Open event-stream connections" })

export const resultPushes = Metric.counter("result_pushes_total", {
  description: "Results events written to event streams, one per stream per change (the first on connect included)"
})

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

// Each encoded once, the same bytes written to every stream.
const resultsEvent = (results: Results) => frame(Buffer.from(`event: results\ndata: ${JSON.stringify(results)}\n\n`))
const heartbeat = frame(Buffer.from(": heartbeat\n\n"))
// Tells EventSource how soon to reconnect after the stream ends (a restart, a deploy).
const preamble = Buffer.from("retry: 2000\n\n")

const streamHeaders = {
  "cache-control": "no-cache, no-transform",
  "x-content-type-options": "nosniff",
  // Proxies that buffer (nginx and friends) must pass each event on at once.
  "x-accel-buffering": "no"
}

/**
 * `GET /api/results/stream`: the current results on connect, then an event
 * after every change. On shutdown every stream ends, and the browsers
 * reconnect to another instance. Open streams are capped per client address
 * (RESULT_STREAMS_PER_CLIENT, the ClientAddress rule) and per process
 * (RESULT_STREAMS_MAX): one over a cap is answered 503 with Retry-After.
 *
 * The fan-out is done once per change, not once per client: the results are
 * serialised once and the one buffer is written to every stream's socket
 * (EventStreams), and one timer writes the heartbeats. The answer's body is
 * a stream that emits nothing and ends when the event stream does: the
 * router writes the head and ends the response, EventStreams writes the
 * events in between. With 10,000 streams, an Effect Stream per client (merge,
 * sliding buffer, tick) took ~50 KiB of heap and ~130 µs of CPU per change
 * each; see the bench's fanout scenario for what one stream costs now.
 */
export const ResultsStreamRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    const health = yield* Health
    const limits = yield* resultStreamLimitsConfig
    const trusted = yield* trustedProxiesConfig
    const slots = new ClientSlots(limits.perClient, limits.max)
    const streams = new EventStreams(preamble)
    const countPushes = Effect.suspend(() => Metric.update(resultPushes, streams.takeWritten()))
    const openedStream = Effect.andThen(Metric.modify(streamClients, 1), countPushes)
    const closedStream = Metric.modify(streamClients, -1)
    yield* feed.onChange((results) => {
      streams.publish(resultsEvent(results))
      return countPushes
    })
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(heartbeatEvery),
          Effect.sync(() => streams.comment(heartbeat))
        )
      )
    )
    yield* Effect.forkScoped(
      Effect.andThen(
        Deferred.await(health.stopping),
        Effect.sync(() => streams.endAll())
      )
    )

    /**
     * The body of one stream's answer: emits nothing, runs from its head being
     * written until the stream ends, or the client goes away (the router
     * interrupts it then). One effect, no stream operators: each would add
     * fibers' worth of closures to every open stream.
     */
    const body = (sink: EventSink, release: () => void) =>
      Stream.fromEffectDrain(
        Effect.acquireUseRelease(
          Effect.sync(() => {
            const ended = Deferred.makeUnsafe<void>()
            return { ended, remove: streams.add(sink, () => Deferred.doneUnsafe(ended, Effect.void)) }
          }),
          ({ ended }) => Effect.andThen(openedStream, Deferred.await(ended)),
          ({ remove }) =>
            Effect.andThen(
              Effect.sync(() => {
                remove()
                release()
              }),
              closedStream
            )
        )
      )

    yield* router.add("GET", "/api/results/stream", (request) =>
      Effect.suspend(() => {
        const release = slots.hold(requestClientKey(request, trusted), request)
        if (typeof release === "string") return refused(release)
        const sink: EventSink | undefined = nodeResponseOf(request)
        if (sink === undefined) return Effect.die(new Error("event streams are served by Node's HTTP server only"))
        return Effect.succeed(
          HttpServerResponse.stream(body(sink, release), { contentType: "text/event-stream", headers: streamHeaders })
        )
      })
    )
  })
)
