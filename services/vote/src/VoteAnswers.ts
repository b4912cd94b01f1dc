import type { OptionId, Poll, VoterId } from "@voting/domain"
import { apiHeaders, htmlResponse } from "@voting/web"
import { Effect } from "effect"
import { HttpServerResponse, ProblemDetails } from "effect/http"
import { answerFor, MalformedVote, type Rejection, type RejectionAnswer } from "./Rejections.ts"
import { rejected } from "./VoteMetrics.ts"
import { problemPage } from "./VotePage.ts"
import { knownVoter, newVoterId, type VoterRequest, voterCookies } from "./VoterCookies.ts"

/**
 * What the vote routes answer, shared by the router's routes (VoteRoutes.ts)
 * and the fast JSON route (FastVoteApi.ts), so both answer alike.
 */

/** Sets the voter cookie, and the remembered choice when there is one (one copy of the response, not two). */
export const withVoterCookies = (
  request: VoterRequest,
  response: HttpServerResponse.HttpServerResponse,
  voterId: VoterId,
  choice?: OptionId
) => HttpServerResponse.setCookiesUnsafe(response, voterCookies(request, voterId, choice))

/**
 * The voter's id from the cookie, or a new one, and what a refusal's answer
 * must add. A new voter keeps the new id even when the vote is refused: a 503
 * may hide a vote that did reach the queue, and the retry must then replace
 * it, not count a second voter.
 */
export const voterOf = (request: VoterRequest) => {
  const known = knownVoter(request)
  const voterId = known?.voterId ?? newVoterId()
  const keep = (response: HttpServerResponse.HttpServerResponse) =>
    known?.settled ? response : withVoterCookies(request, response, voterId)
  return { voterId, keep }
}

const malformedJson = () => new MalformedVote({ detail: 'Send JSON like {"vote": "<option id>"}.' })

/** The choice in a JSON body `{"vote": "<option id>"}`; one shape, so checked by hand rather than by a schema per vote. */
export const jsonChoice = (body: string): string | MalformedVote => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return malformedJson()
  }
  const vote = typeof parsed === "object" && parsed !== null ? (parsed as { vote?: unknown }).vote : undefined
  return typeof vote === "string" ? vote : malformedJson()
}

export const formChoice = (body: string): string => new URLSearchParams(body).get("vote") ?? ""

/** Says when to try again, for a refusal that knows (a rate-limited vote). */
const withRetryAfter = (answer: RejectionAnswer, response: HttpServerResponse.HttpServerResponse) =>
  answer.retryAfter === undefined
    ? response
    : HttpServerResponse.setHeader(response, "retry-after", `${answer.retryAfter}`)

/** The page answering a refused form vote, counted by reason. */
export const rejectionPage = (rejection: Rejection, poll: Poll) => {
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

/**
 * The JSON API's answer to a refused vote, counted by reason: RFC 9457 problem
 * details (an `application/problem+json` body with the answer's status), never
 * cached, with the voter's cookie when `keep` says it must be set.
 */
export const apiRejection = (
  rejection: Rejection,
  keep: (response: HttpServerResponse.HttpServerResponse) => HttpServerResponse.HttpServerResponse
) => {
  const answer = answerFor(rejection)
  return Effect.as(
    rejected(answer.reason),
    keep(
      HttpServerResponse.setHeaders(
        withRetryAfter(
          answer,
          ProblemDetails.toResponse({
            type: ProblemDetails.blankType,
            title: answer.title,
            status: answer.status,
            detail: answer.detail,
            ...(rejection._tag === "UnknownOption" ? { validOptions: rejection.validOptions } : {})
          })
        ),
        apiHeaders
      )
    )
  )
}

/** The JSON API's answer to an accepted vote: 202 with the voter's id and choice, and both cookies. */
export const apiAccepted = (request: VoterRequest, voterId: VoterId, option: OptionId) =>
  withVoterCookies(
    request,
    HttpServerResponse.jsonUnsafe({ voterId, vote: option }, { status: 202, headers: apiHeaders }),
    voterId,
    option
  )
