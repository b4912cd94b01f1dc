import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { newVoterId } from "../support/LoadClient.ts"
import { rawRequest } from "../support/RawHttp.ts"
import { type NpmStart, startNpmStart } from "./support/NpmStart.ts"

/**
 * What every kind of answer says about caching and sniffing, the voter
 * cookie's name over HTTPS and plain HTTP, and the cross-site check's Origin
 * fallback, against `npm start` (the vote and result services' own routes and
 * the health routes, as the components serve them).
 */

const json = { "content-type": "application/json" }

describe("answer headers, the voter cookie and the Origin check", () => {
  let app: NpmStart
  let vote: string
  let result: string

  beforeAll(async () => {
    app = await startNpmStart()
    vote = `http://127.0.0.1:${app.votePort}`
    result = `http://127.0.0.1:${app.resultPort}`
  }, 120_000)

  afterAll(async () => {
    await app?.stop()
  }, 60_000)

  it("sends nosniff and no-store with every page, JSON, problem, health and metrics answer", async () => {
    const answers: Array<readonly [string, Promise<Response>]> = [
      ["ballot page", fetch(`${vote}/`)],
      [
        "refusal page",
        fetch(`${vote}/`, {
          method: "POST",
          body: "vote=zebra",
          headers: { "content-type": "application/x-www-form-urlencoded" }
        })
      ],
      ["JSON vote", fetch(`${vote}/api/vote`, { method: "POST", body: '{"vote":"a"}', headers: json })],
      ["problem", fetch(`${vote}/api/vote`, { method: "POST", body: '{"vote":"zebra"}', headers: json })],
      ["results page", fetch(`${result}/`)],
      ["results API", fetch(`${result}/api/results`)],
      ...[vote, result].flatMap((base) =>
        ["/livez", "/readyz", "/metrics"].map((path) => [`${base}${path}`, fetch(`${base}${path}`)] as const)
      )
    ]
    const kinds = new Set<string>()
    for (const [name, pending] of answers) {
      const response = await pending
      await response.arrayBuffer()
      kinds.add(`${response.status} ${response.headers.get("content-type")?.split(";")[0]}`)
      expect(response.headers.get("x-content-type-options"), name).toBe("nosniff")
      expect(response.headers.get("cache-control"), name).toBe("no-store")
    }
    // Every kind was there: pages, refusals, JSON, problem details, plain text and Prometheus text.
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining([
        "200 text/html",
        "400 text/html",
        "202 application/json",
        "400 application/problem+json",
        "200 application/json",
        "200 text/plain"
      ])
    )
  })

  it("sends nosniff with the event stream and the assets, each keeping its own cache rule", async () => {
    const controller = new AbortController()
    const stream = await fetch(`${result}/api/results/stream`, { signal: controller.signal })
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/)
    expect(stream.headers.get("x-content-type-options")).toBe("nosniff")
    // Not stored anyway, and a proxy must neither transform nor hold it: no-transform is what matters.
    expect(stream.headers.get("cache-control")).toBe("no-cache, no-transform")
    controller.abort()
    await stream.body?.cancel().catch(() => {})
    for (const asset of [`${vote}/assets/app.css`, `${result}/assets/results.js`]) {
      const response = await fetch(asset)
      await response.arrayBuffer()
      expect(response.headers.get("x-content-type-options")).toBe("nosniff")
      expect(response.headers.get("cache-control")).toBe("public, max-age=300")
    }
  })

  it("names the voter cookie __Host-voter_id over HTTPS, reads an old voter_id once, and keeps voter_id over plain HTTP", async () => {
    const https = { "x-forwarded-proto": "https" }
    const castAs = async (headers: Record<string, string>) => {
      const response = await fetch(`${vote}/api/vote`, {
        method: "POST",
        body: '{"vote":"b"}',
        headers: { ...json, ...headers }
      })
      expect(response.status).toBe(202)
      return {
        voterId: ((await response.json()) as { voterId: string }).voterId,
        cookies: response.headers.getSetCookie()
      }
    }
    const named = (cookies: ReadonlyArray<string>, name: string) =>
      cookies.find((cookie) => cookie.startsWith(`${name}=`))

    // A voter from before the rename: the old cookie's id is kept and moves to the new name.
    const old = newVoterId()
    const moved = await castAs({ ...https, cookie: `voter_id=${old}` })
    expect(moved.voterId).toBe(old)
    const secure = named(moved.cookies, "__Host-voter_id")
    expect(secure).toMatch(new RegExp(`^__Host-voter_id=${old};`))
    for (const attribute of ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"]) expect(secure).toContain(attribute)
    expect(secure).not.toMatch(/Domain=/i)
    expect(named(moved.cookies, "voter_id")).toMatch(/^voter_id=;.*Max-Age=0/)

    // The browser now sends the new name only: same voter, and the old name is not set again.
    const again = await castAs({ ...https, cookie: `__Host-voter_id=${old}` })
    expect(again.voterId).toBe(old)
    expect(named(again.cookies, "voter_id")).toBeUndefined()
    const page = await fetch(`${vote}/`, { headers: { ...https, cookie: `__Host-voter_id=${old}` } })
    await page.text()
    expect(page.headers.getSetCookie()).toEqual([])

    // A new voter over HTTPS gets only the new name.
    const fresh = await castAs(https)
    expect(named(fresh.cookies, "__Host-voter_id")).toMatch(new RegExp(`^__Host-voter_id=${fresh.voterId};.*Secure`))
    expect(named(fresh.cookies, "voter_id")).toBeUndefined()

    // Plain HTTP (npm start as it runs): voter_id, not Secure, and no __Host- cookie, which browsers would refuse.
    const plain = await castAs({})
    expect(named(plain.cookies, "voter_id")).toMatch(new RegExp(`^voter_id=${plain.voterId};`))
    expect(named(plain.cookies, "voter_id")).not.toContain("Secure")
    expect(named(plain.cookies, "__Host-voter_id")).toBeUndefined()
    const known = await castAs({ cookie: `voter_id=${plain.voterId}` })
    expect(known.voterId).toBe(plain.voterId)
  })

  it("checks Origin against the Host the browser wrote, never against X-Forwarded-Host", async () => {
    const host = `127.0.0.1:${app.votePort}`
    const post = (headers: string) =>
      rawRequest(
        app.votePort,
        `POST /api/vote HTTP/1.1\r\nHost: ${host}\r\n${headers}Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{"vote":"a"}`
      )
    // Another site that names itself in X-Forwarded-Host is still another site.
    const forged = await post("Origin: https://evil.example\r\nX-Forwarded-Host: evil.example\r\n")
    expect(forged.status).toBe(403)
    expect(forged.body).toMatch(/only be sent from this site/)
    // The service's own page passes, whatever X-Forwarded-Host says.
    expect((await post(`Origin: http://${host}\r\nX-Forwarded-Host: elsewhere.example\r\n`)).status).toBe(202)
    expect((await post(`Origin: http://${host}\r\n`)).status).toBe(202)
  })
})
