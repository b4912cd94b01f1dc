import { hostname } from "node:os"
import { securityHeaders } from "@voting/web"
import { Effect, Option } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { ResultsFeed } from "./ResultsFeed.ts"
import { resultsPage } from "./ResultsPage.ts"

const instance = hostname()

/** `GET /`: the results page, rendered with the current results. */
export const ResultPageRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    yield* router.add("GET", "/", () =>
      Effect.map(feed.current, (current) =>
        HttpServerResponse.text(resultsPage(Option.getOrUndefined(current), instance), {
          contentType: "text/html; charset=utf-8",
          headers: { ...securityHeaders, "cache-control": "no-store" }
        })
      )
    )
  })
)
