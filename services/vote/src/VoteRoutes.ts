import { hostname } from "node:os"
import type { OptionId, Poll, VoterId } from "@voting/domain"
import { LivePoll } from "@voting/platform"
import { apiHeaders, htmlResponse } from "@voting/web"
import { Effect } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse, ProblemDetails } from "effect/http"
import { BallotBox } from "./BallotBox.ts"
import { isCrossSite } from "./CrossSite.ts"
import { answerFor, CrossSiteRequest, MalformedVote, type Rejection, type RejectionAnswer } from "./Rejections.ts"
import { readBody } from "./RequestBody.ts"
import { ResultsLink } from "./ResultsLink.ts"
import { rejected } from "./VoteMetrics.ts"
import { problemPage, votePage } from "./VotePage.ts"
import { choiceCookieName, knownVoter, newVoterId, voterCookies } from "./VoterCookies.ts"

const instance = hostname()

/** Sets the voter cookie, and the remembered choice when there is one (one copy of the response, not two). */
const withVoterCookies = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse,
  voterId: VoterId,
  choice?: OptionId
) => HttpServerResponse.setCookiesUnsafe(response, voterCookies(request, voterId, choice))

const malformedJson = () => new MalformedVote({ detail: 'Send JSON like {"vote": "<option id>"}.' })

/** The choice in a JSON body `{"vote": "<option id>"}`; one shape, so checked by hand rather than by a schema per vote. */
const jsonChoice = (body: string): string | MalformedVote => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return malformedJson()
  }
  const vote = typeof parsed === "object" && parsed !== null ? (parsed as { vote?: unknown }).vote : undefined
  return typeof vote === "string" ? vote : malformedJson()
}

const formChoice = (body: string): string => new URLSearchParams(body).get("vote") ?? ""

/** Says when to try again, for a refusal that knows (a rate-limited vote). */
const withRetryAfter = (answer: RejectionAnswer, response: HttpServerResponse.HttpServerResponse) =>
  answer.retryAfter === undefined
    ? response
    : HttpServerResponse.setHeader(response, "retry-after", `${answer.retryAfter}`)

const rejectionPage = (rejection: Rejection, poll: Poll) => {
  const answer = answerFor(rejection)
  return Effect.as(
    rejected(answer.reason),
    withRetryAfter(
      answer,
      htmlResponse(
        problemPage({
          title: answer.title,
          message: answer.detail,
          ...(rejection._tag === "UnknownOption" ? { poll } : {})
        }),
        answer.status
      )
    )
  )
}

/** RFC 9457 problem details for the JSON API: an `application/problem+json` body with the answer's status. */
const rejectionProblem = (rejection: Rejection) => {
  const answer = answerFor(rejection)
  return Effect.as(
    rejected(answer.reason),
    withRetryAfter(
      answer,
      ProblemDetails.toResponse({
        type: ProblemDetails.blankType,
        title: answer.title,
        status: answer.status,
        detail: answer.detail,
        ...(rejection._tag === "UnknownOption" ? { validOptions: rejection.validOptions } : {})
      })
    )
  )
}

/** The ballot page, the form post and the JSON API, as the contract describes them. */
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
      if (isCrossSite(request)) return Effect.fail(new CrossSiteRequest())
      return Effect.flatMap(readBody(request, mediaType), (body): Effect.Effect<OptionId, Rejection> => {
        const choice = choiceOf(body)
        return typeof choice === "string" ? ballots.cast(voterId, choice, request) : Effect.fail(choice)
      })
    }

    /**
     * The voter's id from the cookie, or a new one. A new voter keeps the new id
     * even when the vote is refused: a 503 may hide a vote that did reach the
     * queue, and the retry must then replace it, not count a second voter.
     */
    const voterOf = (request: HttpServerRequest.HttpServerRequest) => {
      const known = knownVoter(request)
      const voterId = known?.voterId ?? newVoterId()
      const keep = (response: HttpServerResponse.HttpServerResponse) =>
        known?.settled ? response : withVoterCookies(request, response, voterId)
      return { voterId, keep }
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
        onSuccess: (option) =>
          Effect.succeed(
            withVoterCookies(
              request,
              HttpServerResponse.jsonUnsafe({ voterId, vote: option }, { status: 202, headers: apiHeaders }),
              voterId,
              option
            )
          ),
        onFailure: (rejection) =>
          Effect.map(rejectionProblem(rejection), (problem) => keep(HttpServerResponse.setHeaders(problem, apiHeaders)))
      })
    })
  })
)
