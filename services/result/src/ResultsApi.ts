import { Results } from "@voting/domain"
import { apiHeaders } from "@voting/web"
import { Effect, Layer, Option } from "effect"
import { HttpServerResponse } from "effect/http"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiError,
  HttpApiGroup,
  HttpApiMiddleware
} from "effect/http-api"
import { ResultsFeed } from "./ResultsFeed.ts"

/**
 * Puts `no-store` and `nosniff` on every answer of the results API, the 503 as
 * well as the results: it wraps the endpoint after its answer is encoded.
 */
export class ApiHeaders extends HttpApiMiddleware.Service<ApiHeaders>()("@voting/result/ApiHeaders") {}

/** `GET /api/results`, described once: the server below and typed clients (tests, bench) share it. */
export class ResultsApi extends HttpApi.make("results").add(
  HttpApiGroup.make("results")
    .add(
      HttpApiEndpoint.get("current", "/api/results", {
        success: Results,
        // Before the tally has been read once there is nothing true to say.
        error: HttpApiError.ServiceUnavailable
      })
    )
    .middleware(ApiHeaders)
) {}

const ApiHeadersLive = Layer.succeed(ApiHeaders, (answer) =>
  Effect.map(answer, (response) => HttpServerResponse.setHeaders(response, apiHeaders))
)

const ResultsHandlers = HttpApiBuilder.group(
  ResultsApi,
  "results",
  Effect.fn(function* (handlers) {
    const feed = yield* ResultsFeed
    return handlers.handle("current", () =>
      Effect.flatMap(feed.current, (current) =>
        Option.isSome(current) ? Effect.succeed(current.value) : Effect.fail(new HttpApiError.ServiceUnavailable())
      )
    )
  })
)

export const ResultsApiRoutes = HttpApiBuilder.layer(ResultsApi).pipe(
  Layer.provide(ResultsHandlers),
  Layer.provide(ApiHeadersLive)
)
