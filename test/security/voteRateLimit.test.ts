import { request as httpRequest } from "node:http"
import { defaultVoteRateLimit } from "@voting/platform"
import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { newVoterId } from "../support/LoadClient.ts"
import type { RunningComponent } from "../support/Processes.ts"

/**
 * Ballot stuffing from one client: a script that votes as a new voter each time
 * (no cookie, or any well-formed voter_id it likes) is held to VOTE_RATE_LIMIT
 * accepted votes a minute per client address, at its default; the votes over
 * it are refused with 429 and Retry-After and never reach the queue, while
 * another client votes as usual. The service trusts 127.0.0.1 as a proxy, so
 * requests from there name their client in X-Forwarded-For; requests from
 * 127.0.0.2 are a client talking to it directly, whose header is not believed.
 */

const streamKey = "voting:votes"

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** One request from the local address `from` (127.0.0.1 is the trusted proxy, 127.0.0.2 is not). */
const send = (
  port: number,
  options: {
    readonly from?: string
    readonly path?: string
    readonly headers?: Record<string, string>
    readonly body: string
  }
) =>
  new Promise<Answer>((resolve, reject) => {
    const request = httpRequest(
      {
        host: "127.0.0.1",
        port,
        localAddress: options.from ?? "127.0.0.1",
        method: "POST",
        path: options.path ?? "/api/vote",
        headers: { "content-type": "application/json", ...options.headers },
        agent: false
      },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => {
          body += chunk
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
        response.on("error", reject)
      }
    )
    request.on("error", reject)
    request.end(options.body)
  })

const jsonVote = (port: number, forwardedFor: string | undefined, from?: string) =>
  send(port, {
    ...(from === undefined ? {} : { from }),
    // Half the requests are a new voter (no cookie), half bring a made-up, well-formed voter id.
    headers: {
      ...(forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor }),
      ...(Math.random() < 0.5 ? { cookie: `voter_id=${newVoterId()}` } : {})
    },
    body: JSON.stringify({ vote: "a" })
  })

/** `count` votes, 20 in flight at a time, each from the client `forwardedFor(i)` says. */
const burst = async (count: number, vote: (i: number) => Promise<Answer>) => {
  const answers: Array<Answer> = []
  for (let i = 0; i < count; i += 20) {
    answers.push(...(await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => vote(i + j)))))
  }
  return answers
}

/** At most this many tokens could have been earned while the burst ran (`perMinute` a minute, refilled evenly). */
const earnedDuring = (startedAt: number) => Math.ceil(((Date.now() - startedAt) / 60_000) * defaultVoteRateLimit) + 1

describe("the vote service limits accepted votes per client address", () => {
  let deployment: Deployment
  let vote: RunningComponent
  let redis: Redis

  beforeAll(async () => {
    // VOTE_RATE_LIMIT is left at its default; no worker, so the stream's length is what was queued.
    deployment = await startDeployment({ pollOptions: "a=Cats,b=Dogs", env: { TRUSTED_PROXIES: "127.0.0.1/32" } })
    vote = await deployment.start("vote")
    redis = deployment.redis.client()
  }, 120_000)

  afterAll(async () => {
    if (deployment === undefined) return
    await deployment.tearDown()
  }, 60_000)

  const refusedCount = async () => {
    const metrics = await (await fetch(`${vote.url}/metrics`)).text()
    return Number(/^votes_rejected_total\{reason="rate-limited"\} (\d+)/m.exec(metrics)?.[1] ?? 0)
  }

  it("answers a burst from one client 429 with Retry-After past the default, queues none of those, and serves another client", async () => {
    const queuedBefore = await redis.xlen(streamKey)
    const refusedBefore = await refusedCount()
    const startedAt = Date.now()
    const answers = await burst(defaultVoteRateLimit + 30, () => jsonVote(vote.port, "198.51.100.1"))
    const accepted = answers.filter((answer) => answer.status === 202)
    const refused = answers.filter((answer) => answer.status === 429)
    expect(accepted.length + refused.length).toBe(answers.length)
    expect(accepted.length).toBeGreaterThanOrEqual(defaultVoteRateLimit)
    expect(accepted.length).toBeLessThanOrEqual(defaultVoteRateLimit + earnedDuring(startedAt))
    expect(refused.length).toBeGreaterThan(0)
    for (const answer of refused) {
      expect(answer.headers["content-type"]).toMatch(/^application\/problem\+json/)
      expect(Number(answer.headers["retry-after"])).toBeGreaterThanOrEqual(1)
      expect(Number(answer.headers["retry-after"])).toBeLessThanOrEqual(60)
      const problem = JSON.parse(answer.body)
      expect(problem).toMatchObject({ status: 429, title: "Too many votes" })
      expect(problem.detail).toMatch(/not recorded/)
    }
    // Only the accepted votes reached the queue, and each refusal was counted.
    expect((await redis.xlen(streamKey)) - queuedBefore).toBe(accepted.length)
    expect((await refusedCount()) - refusedBefore).toBe(refused.length)

    // The form post from the same client: a page that says so, with Retry-After, nothing queued.
    const queued = await redis.xlen(streamKey)
    const page = await send(vote.port, {
      path: "/",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.1" },
      body: "vote=b"
    })
    expect(page.status).toBe(429)
    expect(page.headers["content-type"]).toMatch(/^text\/html/)
    expect(Number(page.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(page.body).toMatch(/Too many votes/)
    expect(page.body).toMatch(/not recorded/)
    expect(await redis.xlen(streamKey)).toBe(queued)

    // Another client behind the same proxy votes as usual, by form and by JSON.
    const other = await jsonVote(vote.port, "198.51.100.2")
    expect(other.status).toBe(202)
    const otherForm = await send(vote.port, {
      path: "/",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": "198.51.100.2" },
      body: "vote=b"
    })
    expect(otherForm.status).toBe(303)
    expect(await redis.xlen(streamKey)).toBe(queued + 2)
  }, 60_000)

  it("reads X-Forwarded-For from the right: what a client wrote further left does not make it someone else", async () => {
    // Behind the proxy, the client at 198.51.100.3 prefixes a different made-up address to every request.
    const startedAt = Date.now()
    const answers = await burst(defaultVoteRateLimit + 20, (i) =>
      jsonVote(vote.port, `203.0.113.${i % 250}, 198.51.100.3`)
    )
    const accepted = answers.filter((answer) => answer.status === 202).length
    expect(accepted).toBeGreaterThanOrEqual(defaultVoteRateLimit)
    expect(accepted).toBeLessThanOrEqual(defaultVoteRateLimit + earnedDuring(startedAt))
    expect(answers.length - accepted).toBeGreaterThan(0)
  }, 60_000)

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    // 127.0.0.2 talks to the service directly and claims to be a new client every time.
    const queuedBefore = await redis.xlen(streamKey)
    const startedAt = Date.now()
    const answers = await burst(defaultVoteRateLimit + 20, (i) =>
      jsonVote(vote.port, `198.51.100.${100 + (i % 100)}`, "127.0.0.2")
    )
    const accepted = answers.filter((answer) => answer.status === 202).length
    const refused = answers.filter((answer) => answer.status === 429).length
    expect(accepted + refused).toBe(answers.length)
    expect(accepted).toBeGreaterThanOrEqual(defaultVoteRateLimit)
    expect(accepted).toBeLessThanOrEqual(defaultVoteRateLimit + earnedDuring(startedAt))
    expect(refused).toBeGreaterThan(0)
    expect((await redis.xlen(streamKey)) - queuedBefore).toBe(accepted)
    // One of the addresses it claimed, sent through the proxy, is a client of its own and is served.
    expect((await jsonVote(vote.port, "198.51.100.150")).status).toBe(202)
  }, 60_000)
})
