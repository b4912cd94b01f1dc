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
import { Deferred, Duration, Effect, Metric } from "effect"
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

const streamHead = {
  status: 200,
  headers: {
    "cache-control": "no-cache, no-transform",
    "x-content-type-options": "nosniff",
    // Proxies that buffer (nginx and friends) must pass each event on at once.
    "x-accel-buffering": "no",
    "content-type": "text/event-stream"
  }
}

const headOnly = HttpServerResponse.empty({ status: streamHead.status, headers: streamHead.headers })

/**
 * `GET /api/results/stream`: the current results on connect, then an event
 * after every change. On shutdown every stream ends, and the browsers
 * reconnect to another instance. Open streams are capped per client address
 * (RESULT_STREAMS_PER_CLIENT, the ClientAddress rule) and per process
 * (RESULT_STREAMS_MAX): one over a cap is answered 503 with Retry-After.
 *
 * The fan-out is done once per change, not once per client: the results are
 * serialised once and the one buffer is written to every stream's Node
 * response (EventStreams), and one timer writes the heartbeats. A stream's
 * request fiber only waits for its end, so a stream costs its socket and a
 * parked fiber, not a pipeline of fibers and queues: with 10,000 streams the
 * Effect Stream per client took ~50 KiB of heap and ~130 µs of CPU per change
 * each (see the bench's fanout scenario).
 */
export const ResultsStreamRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    const health = yield* Health
    const limits = yield* resultStreamLimitsConfig
    const trusted = yield* trustedProxiesConfig
    const slots = new ClientSlots(limits.perClient, limits.max)
    const streams = new EventStreams(streamHead, preamble)
    yield* feed.onChange((results) => streams.publish(resultsEvent(results)))
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
    yield* router.add("GET", "/api/results/stream", (request) =>
      Effect.suspend(() => {
        // The router answers HEAD with the GET route: the head alone, as any answer to HEAD.
        if (request.method === "HEAD") return Effect.succeed(headOnly)
        const release = slots.hold(requestClientKey(request, trusted), request)
        if (typeof release === "string") return refused(release)
        // The stream is written here, not by the router: it has ended by the time the handler returns.
        const sink: EventSink | undefined = nodeResponseOf(request)
        if (sink === undefined) return Effect.die(new Error("event streams are served by Node's HTTP server only"))
        return Metric.modify(streamClients, 1).pipe(
          Effect.andThen(
            Effect.callback<HttpServerResponse.HttpServerResponse>((resume) => {
              const remove = streams.add(sink, () => resume(Effect.succeed(HttpServerResponse.empty())))
              // The client went away: the router interrupts this fiber.
              return Effect.sync(remove)
            })
          ),
          Effect.ensuring(Effect.andThen(Metric.modify(streamClients, -1), Effect.sync(release)))
        )
      })
    )
  })
)
