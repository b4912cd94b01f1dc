import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it } from "@effect/vitest"
import { ConfigSources, FastRoutes, Health, LivePoll, RedisConnection, serveHttp } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import { pollOf } from "@voting/test-support/Polls"
import { freePort } from "@voting/test-support/Processes"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { BallotBox } from "../src/BallotBox.ts"
import { VoteRateLimit } from "../src/VoteRateLimit.ts"
import { VoteRoutes } from "../src/VoteRoutes.ts"

const poll = pollOf("Cats vs <b>Dogs</b>", "a=Cats,b=Dogs & <i>co</i>")

/**
 * How the routes are served: by Effect's router alone, or as the service
 * serves them (`serveHttp`), where the JSON API's common votes take the fast
 * route (FastVoteApi.ts) and everything else still reaches the router.
 */
type Via = "router" | "service"
const vias: ReadonlyArray<Via> = ["router", "service"]

/**
 * The vote routes over a given queue, served by Node on a free port (the body
 * is read from Node's request stream), with a fetch-style handler that sends
 * requests to it: the whole HTTP pipeline.
 */
const handlerWith = (queue: Layer.Layer<VoteQueue, unknown>, via: Via = "router") =>
  Effect.gen(function* () {
    const queueContext = yield* Layer.build(queue)
    const provided = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
      layer.pipe(
        Layer.provide(BallotBox.layer),
        Layer.provide(VoteRateLimit.layerOff),
        Layer.provide(Layer.succeedContext(queueContext)),
        Layer.provide(LivePoll.layerStatic(poll))
      )
    let origin: string
    if (via === "router") {
      const app = provided(HttpRouter.serve(VoteRoutes, { disableLogger: true, disableListenLog: true })).pipe(
        Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0 }))
      )
      const server = Context.get(yield* Layer.build(app), HttpServer.HttpServer)
      if (server.address._tag === "UnixPathAddress") throw new Error("expected a TCP address")
      origin = `http://127.0.0.1:${server.address.port}`
    } else {
      const port = yield* Effect.promise(freePort)
      yield* Layer.build(
        provided(serveHttp("vote", VoteRoutes, { port, maxConnections: 100 })).pipe(
          Layer.provide(Health.layer),
          Layer.provide(ConfigSources.layer)
        )
      )
      origin = `http://127.0.0.1:${port}`
    }
    // The body goes as given, so a string body has a Content-Length, as a browser's vote has.
    const handler = (path: string, init: RequestInit) => fetch(`${origin}${path}`, { ...init, redirect: "manual" })
    return { handler, queue: queueContext }
  })

const call = (handler: (path: string, init: RequestInit) => Promise<Response>, path: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await handler(path, init)
    return { response, body: await response.text() }
  })

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString()
})

const json = (body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body
})

const queued = (queue: Context.Context<VoteQueue>) =>
  Context.get(queue, VoteQueue).receive({ consumer: "test", count: 100, block: Duration.millis(1) })

const cookieValue = (response: Response, name: string) =>
  response.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith(`${name}=`))
    ?.split(";")[0]
    ?.slice(name.length + 1)

describe("vote routes", () => {
  it.live("answers a form vote with 303 to /, a voter cookie with the contract's attributes, and the vote queued", () =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory)
      const { response } = yield* call(handler, "/", form({ vote: "b" }))
      assert.strictEqual(response.status, 303)
      assert.strictEqual(response.headers.get("location"), "/")
      const cookie = response.headers.getSetCookie().find((c) => c.startsWith("voter_id="))
      assert.isDefined(cookie)
      assert.match(cookie!, /^voter_id=[A-Za-z0-9_-]{22};/)
      assert.match(cookie!, /Max-Age=(\d+)/)
      assert.isAtLeast(Number(/Max-Age=(\d+)/.exec(cookie!)?.[1]), 365 * 24 * 3600)
      for (const attribute of ["HttpOnly", "SameSite=Lax", "Path=/"]) assert.include(cookie!, attribute)
      assert.notInclude(cookie!, "Secure")
      const entries = yield* queued(queue)
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0]?.fields.voter, cookieValue(response, "voter_id"))
      assert.strictEqual(entries[0]?.fields.option, "b")
    }).pipe(Effect.scoped)
  )

  it.live("keeps the voter's id, moves it to a Secure __Host- cookie behind a TLS proxy, and marks the choice", () =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory)
      const voter = "AAAAAAAAAAAAAAAAAAAAAA"
      const https = { "x-forwarded-proto": "https" }
      const { response } = yield* call(handler, "/", form({ vote: "a" }, { cookie: `voter_id=${voter}`, ...https }))
      assert.strictEqual(cookieValue(response, "__Host-voter_id"), voter)
      const set = response.headers.getSetCookie()
      const secure = set.find((cookie) => cookie.startsWith("__Host-voter_id="))!
      for (const attribute of ["Secure", "Path=/", "HttpOnly"]) assert.include(secure, attribute)
      assert.notInclude(secure, "Domain")
      // The old name is read this once: expired in the same answer.
      assert.match(set.find((cookie) => cookie.startsWith("voter_id=")) ?? "", /^voter_id=;.*Max-Age=0/)
      assert.strictEqual((yield* queued(queue))[0]?.fields.voter, voter)
      // Next time the browser sends the new name only, and gets no cookie on the page.
      const again = yield* call(handler, "/", { headers: { cookie: `__Host-voter_id=${voter}`, ...https } })
      assert.deepStrictEqual(again.response.headers.getSetCookie(), [])

      const page = yield* call(handler, "/", { headers: { cookie: `voter_id=${voter}; voter_choice=a` } })
      assert.match(page.body, /value="a" aria-pressed="true">Cats<span class="mark"/)
      assert.include(page.body, 'value="b" aria-pressed="false"')
      assert.deepStrictEqual(page.response.headers.getSetCookie(), [], "a known voter gets no new cookie")
    }).pipe(Effect.scoped)
  )

  it.live("issues a new id for a malformed or oversized cookie", () =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory)
      for (const bad of ["short", "x".repeat(4000), "AAAAAAAAAAAAAAAAAAAAAA<script>"]) {
        const { response } = yield* call(handler, "/api/vote", json('{"vote":"a"}', { cookie: `voter_id=${bad}` }))
        assert.strictEqual(response.status, 202)
        const issued = cookieValue(response, "voter_id")
        assert.match(issued ?? "", /^[A-Za-z0-9_-]{22}$/)
        assert.notStrictEqual(issued, bad)
      }
      assert.strictEqual((yield* queued(queue)).length, 3)
    }).pipe(Effect.scoped)
  )

  it.live.each(vias)("answers the JSON API with 202 and the voter's id (%s)", (via) =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory, via)
      const { response, body } = yield* call(handler, "/api/vote", json('{"vote":"a"}'))
      assert.strictEqual(response.status, 202)
      const answer = JSON.parse(body)
      assert.deepStrictEqual(answer, { voterId: cookieValue(response, "voter_id"), vote: "a" })
      assert.deepStrictEqual(
        (yield* queued(queue)).map((entry) => [entry.fields.voter, entry.fields.option]),
        [[answer.voterId, "a"]]
      )
    }).pipe(Effect.scoped)
  )

  it.live("answers every JSON API request alike whether the fast route or the router takes it", () =>
    Effect.gen(function* () {
      const service = yield* handlerWith(VoteQueue.layerMemory, "service")
      const router = yield* handlerWith(VoteQueue.layerMemory, "router")
      const known = "voter_id=AAAAAAAAAAAAAAAAAAAAAA"
      const requests: ReadonlyArray<RequestInit> = [
        json('{"vote":"a"}'),
        json('{"vote":"b"}', { cookie: known }),
        json('{"vote":"b"}', { cookie: `${known}; voter_choice=a`, "x-forwarded-proto": "https" }),
        json('{"vote":"a"}', { cookie: "__Host-voter_id=BBBBBBBBBBBBBBBBBBBBBB", "x-forwarded-proto": "https" }),
        json('{"vote":"a"}', { cookie: "voter_id=not-an-id" }),
        json('{"vote":"a"}', { "sec-fetch-site": "same-origin" }),
        json('{"vote":"a"}', { origin: "http://vote.test", host: "vote.test" }),
        json('{"vote":"zebra"}'),
        json('{"vote":"zebra"}', { cookie: known }),
        json("{vote: a"),
        json("[]"),
        json(""),
        json('{"vote":"a"}', { "content-type": "application/json; charset=utf-8" }),
        json('{"vote":"a"}', { "sec-fetch-site": "cross-site" }),
        json('{"vote":"a"}', { "content-type": "text/plain" }),
        json(JSON.stringify({ vote: "a", pad: "x".repeat(20_000) }))
      ]
      // A new voter's id is random: compared by shape, the rest byte for byte.
      const masked = (text: string) => text.replace(/(voter_id=|"voterId":")[A-Za-z0-9_-]{22}/g, "$1<id>")
      const answer = (response: Response, body: string) => ({
        status: response.status,
        headers: [...response.headers]
          // The connection headers are the listener's (its keep-alive timeout), not the route's.
          .filter(([name]) => !["date", "set-cookie", "connection", "keep-alive"].includes(name))
          .sort(([a], [b]) => a.localeCompare(b)),
        cookies: response.headers.getSetCookie().map(masked),
        body: masked(body)
      })
      for (const init of requests) {
        const fast = yield* call(service.handler, "/api/vote", init)
        const routed = yield* call(router.handler, "/api/vote", init)
        assert.deepStrictEqual(
          answer(fast.response, fast.body),
          answer(routed.response, routed.body),
          String(init.body)
        )
      }
    }).pipe(Effect.scoped)
  )

  it.live("registers the JSON API's fast route, and only that one", () =>
    Effect.gen(function* () {
      const added: Array<string> = []
      const recording = Layer.succeed(FastRoutes)({ add: (method, path) => void added.push(`${method} ${path}`) })
      yield* Layer.build(
        HttpRouter.serve(Layer.provide(VoteRoutes, recording), { disableLogger: true, disableListenLog: true }).pipe(
          Layer.provide(BallotBox.layer),
          Layer.provide(VoteRateLimit.layerOff),
          Layer.provide(VoteQueue.layerMemory),
          Layer.provide(LivePoll.layerStatic(poll)),
          Layer.provide(NodeHttpServer.layer(() => createServer(), { port: 0 }))
        )
      )
      assert.deepStrictEqual(added, ["POST /api/vote"])
    }).pipe(Effect.scoped)
  )

  it.live.each([
    ["an unknown option (form)", "/", form({ vote: "c" }), 400, "valid options are a, b"],
    ["a missing option (form)", "/", form({}), 400, "valid options are a, b"],
    [
      "a cross-site form post",
      "/",
      form({ vote: "a" }, { "sec-fetch-site": "cross-site" }),
      403,
      "only be sent from this site"
    ],
    [
      "a form from another origin",
      "/",
      form({ vote: "a" }, { origin: "https://evil.example", host: "vote.test" }),
      403,
      "only be sent"
    ],
    ["a body over 16 KiB", "/", form({ vote: "a", pad: "x".repeat(17_000) }), 413, "larger than 16 KiB"],
    [
      "a form with the wrong media type",
      "/",
      { method: "POST", headers: { "content-type": "text/plain" }, body: "vote=a" },
      415,
      "application/x-www-form-urlencoded"
    ]
  ] as const)("refuses %s with a page, queueing nothing", ([, path, init, status, text]) =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory)
      const { response, body } = yield* call(handler, path, init)
      assert.strictEqual(response.status, status)
      assert.strictEqual(response.headers.get("content-type"), "text/html; charset=utf-8")
      assert.include(body, text)
      assert.include(body, "not recorded")
      assert.deepStrictEqual(yield* queued(queue), [])
    }).pipe(Effect.scoped)
  )

  it.live.each([
    ["malformed JSON", json("{vote: a"), 400],
    ["JSON without a vote", json('{"choice":"a"}'), 400],
    ["an unknown option", json('{"vote":"zebra"}'), 400],
    ["an empty body", json(""), 400],
    ["a form sent to the JSON API", form({ vote: "a" }), 415],
    ["a huge body", json(JSON.stringify({ vote: "a", pad: "x".repeat(20_000) })), 413]
  ] as const)("refuses %s on the JSON API as problem+json", ([, init, status]) =>
    Effect.gen(function* () {
      const { handler, queue } = yield* handlerWith(VoteQueue.layerMemory, "service")
      const { response, body } = yield* call(handler, "/api/vote", init)
      assert.strictEqual(response.status, status)
      assert.strictEqual(response.headers.get("content-type"), "application/problem+json")
      const problem = JSON.parse(body)
      assert.strictEqual(problem.status, status)
      assert.include(problem.detail, "not recorded")
      assert.deepStrictEqual(yield* queued(queue), [])
    }).pipe(Effect.scoped)
  )

  it.live.each(vias)(
    "answers 503, never success, when the queue cannot be reached (%s)",
    (via) =>
      Effect.gen(function* () {
        // A real Redis client pointed at a port nothing listens on: every enqueue fails.
        const unreachable = VoteQueue.layerRedis.pipe(
          Layer.provide(
            RedisConnection.layer({
              url: Redacted.make("redis://127.0.0.1:1"),
              prefix: "unreachable:",
              connectionName: "test"
            })
          )
        )
        const { handler } = yield* handlerWith(unreachable, via)
        const page = yield* call(handler, "/", form({ vote: "a" }))
        assert.strictEqual(page.response.status, 503)
        assert.include(page.body, "Nothing was counted")
        const api = yield* call(handler, "/api/vote", json('{"vote":"a"}'))
        assert.strictEqual(api.response.status, 503)
        assert.strictEqual(api.response.headers.get("content-type"), "application/problem+json")
        // A new voter keeps the id it was given, so a retry replaces any vote that did get through.
        assert.match(cookieValue(page.response, "voter_id") ?? "", /^[A-Za-z0-9_-]{22}$/)
        assert.match(cookieValue(api.response, "voter_id") ?? "", /^[A-Za-z0-9_-]{22}$/)
        const known = yield* call(
          handler,
          "/api/vote",
          json('{"vote":"a"}', { cookie: "voter_id=AAAAAAAAAAAAAAAAAAAAAA" })
        )
        assert.strictEqual(known.response.status, 503)
        assert.deepStrictEqual(known.response.headers.getSetCookie(), [])
      }).pipe(Effect.scoped),
    20_000
  )

  it.live("escapes configured labels and sends a strict CSP with the page", () =>
    Effect.gen(function* () {
      const { handler } = yield* handlerWith(VoteQueue.layerMemory)
      const { response, body } = yield* call(handler, "/")
      assert.include(body, "Cats vs &lt;b&gt;Dogs&lt;/b&gt;")
      assert.include(body, "Dogs &amp; &lt;i&gt;co&lt;/i&gt;")
      assert.notInclude(body, "<i>co</i>")
      assert.include(response.headers.get("content-security-policy") ?? "", "default-src 'none'")
      assert.include(body, "Served by ")
    }).pipe(Effect.scoped)
  )
})
