import { Context, Effect, Exit, Metric } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, type HttpServerResponse } from "effect/http"

const name = "http_server_request_duration_seconds"
const description =
  "Time from routing a request to its answer being ready (an event stream: until it opens), by route pattern, method and status class"
/** From half a millisecond (a vote on an idle server) to seconds (a stalled dependency). */
export const requestDurationBoundaries: ReadonlyArray<number> = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  Number.POSITIVE_INFINITY
]

type Histogram = Metric.Metric<number, Metric.HistogramState>

/** `1xx` to `5xx` as 0 to 4; anything else (never sent by Node) counts as `5xx`. */
const classIndex = (status: number) => Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4)

/**
 * One histogram per route, method and status class, each with its labels fixed
 * at creation: an observation is then a lookup in two small maps and an array,
 * with no label record built and no context added per request. Routes are the
 * router's own objects (one per registered pattern), so the label is always the
 * pattern, never the raw path, and there are as many series as routes use.
 */
const seriesByRoute = new WeakMap<object, Map<string, Array<Histogram | undefined>>>()

// Effect's registry keys a series by name and attributes: two histograms made alike update one series.
const makeHistogram = (path: string, method: string, index: number): Histogram =>
  Metric.histogram(name, {
    description,
    boundaries: requestDurationBoundaries,
    attributes: { route: path, method, status_class: `${index + 1}xx` }
  })

const histogramFor = (route: HttpRouter.Route<unknown, unknown>, method: string, status: number): Histogram => {
  let byMethod = seriesByRoute.get(route)
  if (byMethod === undefined) {
    byMethod = new Map()
    seriesByRoute.set(route, byMethod)
  }
  let byClass = byMethod.get(method)
  if (byClass === undefined) {
    byClass = []
    byMethod.set(method, byClass)
  }
  const index = classIndex(status)
  let histogram = byClass[index]
  if (histogram === undefined) {
    histogram = makeHistogram(route.path, method, index)
    byClass[index] = histogram
  }
  return histogram
}

/**
 * Times every request of the routes it is provided to, per route pattern.
 * Route-scoped, not global: a global middleware would take every request off
 * the server's one-frame path (see HttpServer.ts), while this adds one frame
 * inside the route's own handler and reads no Effect clock. The time runs from
 * routing to the answer being ready, before its body is sent: for the small
 * answers here that is nearly the whole request, and an event stream counts
 * the time to open it, not how long it stays open. A handler that fails is
 * counted with the status its failure is answered with (500, or 499 when the
 * client went away).
 */
export const requestDurationMiddleware = (
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown>
): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown> =>
  Effect.withFiber((fiber) => {
    const start = performance.now()
    const context = fiber.context
    const observe = (status: number) => {
      const { route } = Context.getUnsafe(context, HttpRouter.RouteContext)
      const { method } = Context.getUnsafe(context, HttpServerRequest.HttpServerRequest)
      histogramFor(route, method, status).updateUnsafe((performance.now() - start) / 1000, context)
    }
    return Effect.onExitPrimitive(handler, (exit) => {
      if (Exit.isSuccess(exit)) {
        observe(exit.value.status)
        return undefined
      }
      return Effect.map(HttpServerError.causeResponse(exit.cause), ([response]) => observe(response.status))
    })
  })

/**
 * Times the requests of one route pattern and method answered without the
 * router (a fast route, FastRoutes.ts), into the same series the middleware
 * updates for the router's route of that pattern: `observe` takes the answer's
 * status and the `performance.now()` at which the route took the request.
 */
export const requestDurationOf = (path: string, method: string) => {
  const byClass: Array<Histogram | undefined> = []
  return (status: number, start: number, context: Context.Context<never>) => {
    const index = classIndex(status)
    let histogram = byClass[index]
    if (histogram === undefined) {
      histogram = makeHistogram(path, method, index)
      byClass[index] = histogram
    }
    histogram.updateUnsafe((performance.now() - start) / 1000, context)
  }
}

/** Provide to a component's public routes (never to health and metrics) to time them. */
export const RequestDuration = HttpRouter.middleware(requestDurationMiddleware).layer
