import { hostname } from "node:os"
import type { OptionId, VoterId } from "@voting/domain"
import { FastRoutes, LivePoll } from "@voting/platform"
import { htmlResponse } from "@voting/web"
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { BallotBox } from "./BallotBox.ts"
import { isCrossSite } from "./CrossSite.ts"
import { fastVoteApi } from "./FastVoteApi.ts"
import { CrossSiteRequest, type MalformedVote, type Rejection } from "./Rejections.ts"
import { readBody } from "./RequestBody.ts"
import { ResultsLink } from "./ResultsLink.ts"
import {
  apiAccepted,
  apiRejection,
  formChoice,
  jsonChoice,
  rejectionPage,
  voterOf,
  withVoterCookies
} from "./VoteAnswers.ts"
import { votePage } from "./VotePage.ts"
import { choiceCookieName, knownVoter, newVoterId } from "./VoterCookies.ts"

const instance = hostname()

/**
 * The ballot page, the form post and the JSON API, as the contract describes them.
 * The JSON API also has a fast route (FastVoteApi.ts) that answers the common
 * vote without the router; this route answers whatever that one leaves to it.
 */
export const VoteRoutes = HttpRouter.use(
  Effect.fn(function* (router) {
    const livePoll = yield* LivePoll
    const ballots = yield* BallotBox
    const resultsUrl = (yield* ResultsLink).href

    // Checks the origin, reads the body, then casts as this voter. Plain combinators, not a generator:
    // this runs for every vote.
    const cast = (
      request: HttpServerRequest.HttpServerRequest,
      voterId: VoterId,
      choiceOf: (body: string) => string | MalformedVote,
      mediaType: string
    ): Effect.Effect<OptionId, Rejection> => {
      if (isCrossSite(request.headers)) return Effect.fail(new CrossSiteRequest())
      return Effect.flatMap(readBody(request, mediaType), (body): Effect.Effect<OptionId, Rejection> => {
        const choice = choiceOf(body)
        return typeof choice === "string" ? ballots.cast(voterId, choice, request) : Effect.fail(choice)
      })
    }

    yield* router.add("GET", "/", (request) =>
      Effect.gen(function* () {
        const poll = yield* livePoll.current
        const known = knownVoter(request)
        const page = htmlResponse(votePage({ poll, choice: request.cookies[choiceCookieName], instance, resultsUrl }))
        return known?.settled ? page : withVoterCookies(request, page, known?.voterId ?? newVoterId())
      })
    )

    yield* router.add("POST", "/", (request) => {
      const { voterId, keep } = voterOf(request)
      return Effect.matchEffect(cast(request, voterId, formChoice, "application/x-www-form-urlencoded"), {
        onSuccess: (option) =>
          Effect.succeed(withVoterCookies(request, HttpServerResponse.redirect("/", { status: 303 }), voterId, option)),
        onFailure: (rejection) =>
          Effect.flatMap(livePoll.current, (poll) => Effect.map(rejectionPage(rejection, poll), keep))
      })
    })

    yield* router.add("POST", "/api/vote", (request) => {
      const { voterId, keep } = voterOf(request)
      return Effect.matchEffect(cast(request, voterId, jsonChoice, "application/json"), {
        onSuccess: (option) => Effect.succeed(apiAccepted(request, voterId, option)),
        onFailure: (rejection) => apiRejection(rejection, keep)
      })
    })

    const fast = yield* FastRoutes
    fast.add("POST", "/api/vote", fastVoteApi(ballots, yield* Effect.context<never>()))
  })
)
