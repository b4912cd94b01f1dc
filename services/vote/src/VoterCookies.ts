import { randomBytes } from "node:crypto"
import { VoterId, voterIdBytes } from "@voting/domain"
import { Duration, Option, Schema } from "effect"
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

// New ids are cut from a pool drawn from the CSPRNG 256 ids at a time: one call per id cost more
// than the rest of casting a vote. Each byte is used once, as crypto.randomUUID does with its cache.
const idsPerDraw = 256
let pool = Buffer.alloc(0)
let poolOffset = 0

export const newVoterId = (): VoterId => {
  if (poolOffset + voterIdBytes > pool.length) {
    pool = randomBytes(voterIdBytes * idsPerDraw)
    poolOffset = 0
  }
  const id = pool.toString("base64url", poolOffset, poolOffset + voterIdBytes)
  poolOffset += voterIdBytes
  return id as VoterId
}

/** True when the voter reached us over HTTPS, directly or through a proxy that terminated TLS. */
export const isHttps = (request: HttpServerRequest.HttpServerRequest): boolean => {
  const forwarded = request.headers["x-forwarded-proto"]
  if (forwarded !== undefined) return forwarded.split(",")[0]?.trim().toLowerCase() === "https"
  return request.url.startsWith("https:")
}

// Built once: a Max-Age given as text is parsed again for every cookie set.
const voterCookie = {
  httpOnly: true,
  sameSite: "lax",
  path: "/",
  maxAge: Duration.seconds(cookieMaxAgeSeconds),
  secure: false
} as const satisfies Cookie["options"]
const secureVoterCookie = { ...voterCookie, secure: true } as const satisfies Cookie["options"]

export const cookieOptions = (request: HttpServerRequest.HttpServerRequest): Cookie["options"] =>
  isHttps(request) ? secureVoterCookie : voterCookie
