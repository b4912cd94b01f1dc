import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { newVoterId } from "../support/LoadClient.ts"
import type { RunningComponent } from "../support/Processes.ts"
import { rawRequest } from "../support/RawHttp.ts"

/**
 * Hostile and broken requests to the vote service: each gets a clear status
 * and a message, and none puts anything on the queue. No worker runs here, so
 * the stream's length is exactly the number of votes the service accepted.
 */

const streamKey = "voting:votes"
const form = "application/x-www-form-urlencoded"
const json = "application/json"

interface Case {
  readonly name: string
  readonly path: "/" | "/api/vote"
  readonly headers: Record<string, string>
  readonly body?: string
  readonly status: number
  /** What the body must say (the page or the problem's detail). */
  readonly says: RegExp
}

const cases: ReadonlyArray<Case> = [
  {
    name: "form: unknown option",
    path: "/",
    headers: { "content-type": form },
    body: "vote=zebra",
    status: 400,
    says: /valid options are a, b.*not recorded/s
  },
  {
    name: "JSON: unknown option",
    path: "/api/vote",
    headers: { "content-type": json },
    body: '{"vote":"zebra"}',
    status: 400,
    says: /valid options are a, b/
  },
  {
    name: "form: empty body",
    path: "/",
    headers: { "content-type": form },
    body: "",
    status: 400,
    says: /not an option/i
  },
  {
    name: "JSON: empty body",
    path: "/api/vote",
    headers: { "content-type": json },
    body: "",
    status: 400,
    says: /Send JSON like/
  },
  {
    name: "form: huge body",
    path: "/",
    headers: { "content-type": form },
    body: `vote=a&pad=${"x".repeat(20_000)}`,
    status: 413,
    says: /larger than 16 KiB/
  },
  {
    name: "JSON: huge body",
    path: "/api/vote",
    headers: { "content-type": json },
    body: JSON.stringify({ vote: "a", pad: "x".repeat(20_000) }),
    status: 413,
    says: /larger than 16 KiB/
  },
  {
    name: "JSON: malformed",
    path: "/api/vote",
    headers: { "content-type": json },
    body: '{"vote": "a"',
    status: 400,
    says: /Send JSON like/
  },
  {
    name: "JSON: not an object",
    path: "/api/vote",
    headers: { "content-type": json },
    body: "42",
    status: 400,
    says: /Send JSON like/
  },
  {
    name: "JSON: vote not a string",
    path: "/api/vote",
    headers: { "content-type": json },
    body: '{"vote": ["a"]}',
    status: 400,
    says: /Send JSON like/
  },
  {
    name: "form: malformed encoding",
    path: "/",
    headers: { "content-type": form },
    body: "vote=%E0%A4%A&%%%",
    status: 400,
    says: /not an option/i
  },
  {
    name: "form: no vote field",
    path: "/",
    headers: { "content-type": form },
    body: "choice=a",
    status: 400,
    says: /not an option/i
  },
  {
    name: "form: sent as text/plain",
    path: "/",
    headers: { "content-type": "text/plain" },
    body: "vote=a",
    status: 415,
    says: /application\/x-www-form-urlencoded/
  },
  {
    name: "form: sent as JSON",
    path: "/",
    headers: { "content-type": json },
    body: '{"vote":"a"}',
    status: 415,
    says: /application\/x-www-form-urlencoded/
  },
  {
    name: "JSON: sent as a form",
    path: "/api/vote",
    headers: { "content-type": form },
    body: "vote=a",
    status: 415,
    says: /application\/json/
  },
  {
    name: "JSON: no content type",
    path: "/api/vote",
    headers: {},
    body: '{"vote":"a"}',
    status: 415,
    says: /application\/json/
  },
  {
    name: "form: header injection in the value",
    path: "/",
    headers: { "content-type": form },
    body: "vote=a%0d%0aSet-Cookie:%20evil=1",
    status: 400,
    says: /not an option/i
  },
  {
    name: "JSON: header injection in the value",
    path: "/api/vote",
    headers: { "content-type": json },
    body: '{"vote":"a\\r\\nSet-Cookie: evil=1"}',
    status: 400,
    says: /valid options/
  },
  {
    name: "form: cross-site (Sec-Fetch-Site)",
    path: "/",
    headers: { "content-type": form, "sec-fetch-site": "cross-site" },
    body: "vote=a",
    status: 403,
    says: /only be sent from this site/
  },
  {
    name: "form: cross-site (Origin)",
    path: "/",
    headers: { "content-type": form, origin: "https://evil.example" },
    body: "vote=a",
    status: 403,
    says: /only be sent from this site/
  },
  {
    name: "JSON: cross-site (Origin)",
    path: "/api/vote",
    headers: { "content-type": json, origin: "https://evil.example" },
    body: '{"vote":"a"}',
    status: 403,
    says: /only be sent from this site/
  },
  {
    name: "form: unparseable Origin",
    path: "/",
    headers: { "content-type": form, origin: "not a url" },
    body: "vote=a",
    status: 403,
    says: /only be sent from this site/
  }
]

describe("the vote service refuses bad input clearly and queues nothing for it", () => {
  let deployment: Deployment
  let vote: RunningComponent
  let redis: Redis
  /** Every body the service answered with, for the secret scan. */
  const bodies: Array<string> = []

  beforeAll(async () => {
    deployment = await startDeployment({ pollOptions: "a=Cats,b=Dogs" })
    vote = await deployment.start("vote")
    redis = deployment.redis.client()
  }, 120_000)

  afterAll(async () => {
    if (deployment === undefined) return
    const metrics = await (await fetch(`${vote.url}/metrics`)).text()
    const output = () => deployment.allOutput()
    await deployment.tearDown()
    // Nothing any scenario made the service say, log or count shows the database password.
    for (const text of [...bodies, metrics, output()]) expect(text).not.toContain(deployment.secret)
  }, 60_000)

  for (const badCase of cases) {
    it(`${badCase.name}: ${badCase.status}`, async () => {
      const before = await redis.xlen(streamKey)
      const response = await fetch(`${vote.url}${badCase.path}`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie: `voter_id=${newVoterId()}`, ...badCase.headers },
        ...(badCase.body === undefined ? {} : { body: badCase.body })
      })
      const body = await response.text()
      bodies.push(body)
      expect(response.status).toBe(badCase.status)
      expect(response.headers.get("content-type")).toMatch(
        badCase.path === "/" ? /^text\/html/ : /^application\/problem\+json/
      )
      expect(body).toMatch(badCase.says)
      expect(body).toMatch(/not recorded/)
      expect(response.headers.getSetCookie().join("\n")).not.toMatch(/evil/)
      expect(await redis.xlen(streamKey)).toBe(before)
    })
  }

  it("cuts a chunked body off at 16 KiB (413) without reading all of it", async () => {
    const before = await redis.xlen(streamKey)
    const chunk = "x".repeat(4_096)
    const chunks = Array.from({ length: 64 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("")
    const response = await rawRequest(
      vote.port,
      `POST /api/vote HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`
    )
    bodies.push(response.body)
    expect(response.status).toBe(413)
    expect(await redis.xlen(streamKey)).toBe(before)
  })

  it("refuses header injection in request headers at the parser (400), and never echoes it", async () => {
    const before = await redis.xlen(streamKey)
    for (const injected of [
      "X-Forwarded-Proto: https\rSet-Cookie: evil=1",
      "Cookie: voter_id=abc\nSet-Cookie: evil=1",
      "Host: vote.localhost\r\n\tSet-Cookie: evil=1"
    ]) {
      const response = await rawRequest(
        vote.port,
        `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n${injected}\r\nContent-Type: ${form}\r\nContent-Length: 6\r\nConnection: close\r\n\r\nvote=a`
      )
      bodies.push(response.body)
      expect(response.status, JSON.stringify(injected)).toBe(400)
      expect(response.head).not.toMatch(/evil/)
    }
    expect(await redis.xlen(streamKey)).toBe(before)
  })

  it("gives a malformed or oversized voter_id cookie a new id instead of trusting it", async () => {
    const before = await redis.xlen(streamKey)
    for (const cookie of ["abc", "x".repeat(65), `${"A".repeat(22)};evil=1`, "../../etc/passwd", "x".repeat(8_000)]) {
      const response = await fetch(`${vote.url}/api/vote`, {
        method: "POST",
        headers: { "content-type": json, cookie: `voter_id=${cookie}` },
        body: '{"vote":"a"}'
      })
      const body = (await response.json()) as { voterId: string }
      expect(response.status).toBe(202)
      expect(body.voterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(body.voterId).not.toBe(cookie)
      expect(response.headers.getSetCookie().join("\n")).toContain(`voter_id=${body.voterId}`)
    }
    // Those were valid votes under fresh ids: five on the queue, none under the hostile cookies.
    const queued = await redis.xrange(streamKey, "-", "+")
    expect(queued.length - before).toBe(5)
    for (const [, fields] of queued) expect(fields[1]).toMatch(/^[A-Za-z0-9_-]{22,64}$/)
  })

  it("answers a cookie header over Node's header limit with 431 and queues nothing", async () => {
    const before = await redis.xlen(streamKey)
    const response = await rawRequest(
      vote.port,
      `POST /api/vote HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: voter_id=${"x".repeat(20_000)}\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"vote":"a"}`
    )
    expect(response.status).toBe(431)
    expect(await redis.xlen(streamKey)).toBe(before)
  })

  it("counts every refusal by reason in its metrics", async () => {
    const metrics = await (await fetch(`${vote.url}/metrics`)).text()
    for (const reason of ["cross-site", "too-large", "media-type", "malformed", "unknown-option"]) {
      expect(metrics).toMatch(new RegExp(`votes_rejected_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`))
    }
  })
})
