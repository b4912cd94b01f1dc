import { Results } from "@voting/domain"
import { Effect, Layer, Option } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup } from "effect/http-api"
import { ResultsFeed } from "./ResultsFeed.ts"

/** `GET /api/results`, described once: the server below and typed clients (tests, bench) share it. */
export class ResultsApi extends HttpApi.make("results").add(
  HttpApiGroup.make("results").add(
    HttpApiEndpoint.get("current", "/api/results", {
      success: Results,
      // Before the tally has been read once there is nothing true to say.
      error: HttpApiError.ServiceUnavailable
    })
  )
) {}

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

export const ResultsApiRoutes = HttpApiBuilder.layer(ResultsApi).pipe(Layer.provide(ResultsHandlers))
