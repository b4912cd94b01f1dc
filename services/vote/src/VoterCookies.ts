import { randomBytes } from "node:crypto"
import { VoterId, voterIdBytes } from "@voting/domain"
import type { RequestHeaders } from "@voting/platform"
import { Duration, Option, Schema } from "effect"
import type { Cookie } from "effect/http/Cookies"

/**
 * The voter's id over plain HTTP (`npm start`, a component reached without a
 * TLS proxy): browsers refuse a `__Host-` cookie that is not Secure.
 */
export const voterCookieName = "voter_id"
/**
 * The voter's id over HTTPS. The `__Host-` prefix makes the browser accept it
 * only when Secure, with Path=/ and no Domain, so no other host of the site
 * (a sibling subdomain, a plain-HTTP page) can set or overwrite it.
 */
export const secureVoterCookieName = "__Host-voter_id"
/** Remembers the last choice this browser made, so the page can mark it. Not trusted for anything else. */
export const choiceCookieName = "voter_choice"

/** 400 days: the longest lifetime browsers honour, and over the contract's year. */
export const cookieMaxAgeSeconds = 400 * 24 * 60 * 60

const decodeVoterId = Schema.decodeUnknownOption(VoterId)

/**
 * What the voter cookie rules read of a request: its headers, its parsed
 * cookies and its target. An Effect server request is one; the fast vote
 * route (FastVoteApi.ts) makes one from Node's request.
 */
export interface VoterRequest {
  readonly headers: RequestHeaders
  readonly cookies: { readonly [name: string]: string | undefined }
  readonly url: string
}

/** A voter the request's cookies name, and whether the answer must set the cookie again. */
export interface KnownVoter {
  readonly voterId: VoterId
  /**
   * False when the id came from `voter_id` over HTTPS: the answer then sets it
   * as `__Host-voter_id` and expires `voter_id`, so the old name is read once
   * and no voter from before the rename is lost.
   */
  readonly settled: boolean
}

/**
 * The voter's id from `__Host-voter_id`, else from `voter_id`; undefined when
 * neither holds a valid one (missing or malformed).
 */
export const knownVoter = (request: VoterRequest): KnownVoter | undefined => {
  const cookies = request.cookies
  const secure = cookies[secureVoterCookieName]
  if (secure !== undefined) {
    const id = decodeVoterId(secure)
    if (Option.isSome(id)) return { voterId: id.value, settled: true }
  }
  const plain = cookies[voterCookieName]
  if (plain === undefined) return undefined
  const id = decodeVoterId(plain)
  return Option.isSome(id) ? { voterId: id.value, settled: !isHttps(request) } : undefined
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
export const isHttps = (request: VoterRequest): boolean => {
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
// Secure, Path=/ and no Domain: what a __Host- cookie must have.
const secureVoterCookie = { ...voterCookie, secure: true } as const satisfies Cookie["options"]
// Expires the old `voter_id` once its id has moved to `__Host-voter_id`.
const expiredVoterCookie = { ...secureVoterCookie, maxAge: Duration.zero } as const satisfies Cookie["options"]

type SetCookie = readonly [name: string, value: string, options: Cookie["options"]]

/**
 * The cookies an answer sets for `voterId`, and the last `choice` when there
 * is one: under `__Host-voter_id` over HTTPS (retiring a `voter_id` the
 * request still carried), under `voter_id` over plain HTTP.
 */
export const voterCookies = (request: VoterRequest, voterId: VoterId, choice?: string): Array<SetCookie> => {
  if (!isHttps(request)) {
    return choice === undefined
      ? [[voterCookieName, voterId, voterCookie]]
      : [
          [voterCookieName, voterId, voterCookie],
          [choiceCookieName, choice, voterCookie]
        ]
  }
  const cookies: Array<SetCookie> = [[secureVoterCookieName, voterId, secureVoterCookie]]
  if (choice !== undefined) cookies.push([choiceCookieName, choice, secureVoterCookie])
  if (request.cookies[voterCookieName] !== undefined) cookies.push([voterCookieName, "", expiredVoterCookie])
  return cookies
}
