import { hostname } from "node:os"
import { htmlResponse } from "@voting/web"
import { Effect, Option } from "effect"
import { HttpRouter } from "effect/http"
import { ResultsFeed } from "./ResultsFeed.ts"
import { resultsPage } from "./ResultsPage.ts"
import { VoteLink } from "./VoteLink.ts"

const instance = hostname()

/** `GET /`: the results page, rendered with the current results. */
export const ResultsPageRoute = HttpRouter.use(
  Effect.fn(function* (router) {
    const feed = yield* ResultsFeed
    const voteUrl = (yield* VoteLink).href
    yield* router.add("GET", "/", () =>
      Effect.map(feed.current, (current) =>
        htmlResponse(resultsPage(Option.getOrUndefined(current), instance, voteUrl))
      )
    )
  })
)
