import { randomBytes } from "node:crypto"
import { VoterId, voterIdBytes } from "@voting/domain"
import { Option, Schema } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { Cookie } from "effect/http/Cookies"

export const voterCookieName = "voter_id"
/** Remembers the last choice this browser made, so the page can mark it. Not trusted for anything else. */
export const choiceCookieName = "voter_choice"

/** 400 days: the longest lifetime browsers honour, and over the contract's year. */
export const cookieMaxAgeSeconds = 400 * 24 * 60 * 60

const decodeVoterId = Schema.decodeUnknownOption(VoterId)

/** The voter's id from the cookie, or none when it is missing or malformed. */
export const readVoterId = (request: HttpServerRequest.HttpServerRequest): Option.Option<VoterId> => {
  const raw = request.cookies[voterCookieName]
  return raw === undefined ? Option.none() : decodeVoterId(raw)
}

export const newVoterId = (): VoterId => randomBytes(voterIdBytes).toString("base64url") as VoterId

/** True when the voter reached us over HTTPS, directly or through a proxy that terminated TLS. */
export const isHttps = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const forwarded = request.headers["x-forwarded-proto"]
  if (forwarded !== undefined) return forwarded.split(",")[0]?.trim().toLowerCase() === "https"
  return request.url.startsWith("https:")
}

export const cookieOptions = (request: HttpServerRequest.HttpServerRequest): Cookie["options"] => ({
  httpOnly: true,
  sameSite: "lax",
  path: "/",
  maxAge: `${cookieMaxAgeSeconds} seconds`,
  secure: isHttps(request)
})
