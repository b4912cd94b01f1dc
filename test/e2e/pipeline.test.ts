import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { redisUrl } from "../support/globalSetup.ts"
import { freePort, migrate, type RunningComponent, startComponent } from "../support/Processes.ts"
import { takeResultsEvents } from "../support/ResultsEvents.ts"
import { testDatabase } from "../support/TestDatabase.ts"
import { deleteKeys, testPrefix } from "../support/TestRedis.ts"

/**
 * The whole pipeline as it runs in production: three processes started with
 * `npm run start:*`, real Redis, real PostgreSQL. Votes go in over HTTP as
 * several voters (some change their minds) and must come out exactly on
 * /api/results and on the event stream.
 */
describe("vote → queue → worker → store → results, as separate processes", () => {
  const prefix = testPrefix()
  const scope = Effect.runSync(Scope.make())
  const components: Array<RunningComponent> = []
  let vote: RunningComponent
  let result: RunningComponent

  beforeAll(async () => {
    const database = await Effect.runPromise(Scope.provide(testDatabase, scope))
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }
    await migrate(env)
    const [votePort, resultPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()])
    // Each is remembered as soon as it runs, so a failed start still stops the others.
    const started = (component: RunningComponent) => {
      components.push(component)
      return component
    }
    ;[vote, result] = await Promise.all([
      startComponent("vote", { port: votePort, env, via: "npm" }).then(started),
      startComponent("result", { port: resultPort, env, via: "npm" }).then(started)
    ])
    started(await startComponent("worker", { port: workerPort, env, via: "npm" }))
  }, 90_000)

  afterAll(async () => {
    await Promise.all(components.map((component) => component.stop("SIGTERM")))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Effect.runPromise(deleteKeys(prefix))
    // Every component stopped on SIGTERM (npm passes the signal on) without an error on its way out.
    for (const component of components) expect(component.output()).not.toMatch(/"level":"(ERROR|FATAL)"/)
  }, 30_000)

  it("counts one current vote per voter, live on the stream and on /api/results", async () => {
    const events: Array<{ total: number; options: Array<{ id: string; votes: number }> }> = []
    const stream = await fetch(`${result.url}/api/results/stream`)
    expect(stream.headers.get("content-type")).toBe("text/event-stream")
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ""
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        const taken = takeResultsEvents<(typeof events)[number]>(buffered + value)
        buffered = taken.rest
        events.push(...taken.events)
      }
    })()

    // Six voters; "dan" and "eve" change their minds, "fay" votes twice the same.
    const cookies = new Map<string, string>()
    const castForm = async (voter: string, option: string) => {
      const response = await fetch(`${vote.url}/`, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(cookies.has(voter) ? { cookie: `voter_id=${cookies.get(voter)}` } : {})
        },
        body: `vote=${option}`
      })
      expect(response.status).toBe(303)
      const id = /voter_id=([^;]+)/.exec(response.headers.getSetCookie().join("\n"))?.[1]
      if (id) cookies.set(voter, id)
    }
    const castJson = async (voter: string, option: string) => {
      const response = await fetch(`${vote.url}/api/vote`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(cookies.has(voter) ? { cookie: `voter_id=${cookies.get(voter)}` } : {})
        },
        body: JSON.stringify({ vote: option })
      })
      expect(response.status).toBe(202)
      const body = (await response.json()) as { voterId: string }
      cookies.set(voter, body.voterId)
    }
    await castForm("ann", "a")
    await castJson("bob", "b")
    await castForm("cy", "a")
    await castJson("dan", "a")
    await castForm("eve", "b")
    await castJson("fay", "b")
    await castForm("dan", "b")
    await castJson("eve", "a")
    await castForm("fay", "b")
    await castJson("dan", "a")
    const expected = { a: 4, b: 2 } // ann a, bob b, cy a, dan a, eve a, fay b

    const deadline = Date.now() + 15_000
    let latest: { total: number; options: Array<{ id: string; votes: number }> } | undefined
    while (Date.now() < deadline) {
      latest = (await (await fetch(`${result.url}/api/results`)).json()) as typeof latest
      if (latest?.total === 6 && latest.options.every((o) => o.votes === expected[o.id as "a" | "b"])) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(latest).toMatchObject({
      title: "Cats vs Dogs",
      options: [
        { id: "a", label: "Cats", votes: 4 },
        { id: "b", label: "Dogs", votes: 2 }
      ],
      total: 6
    })

    // The stream started with the results at connect (no votes) and has since pushed the final tally.
    while (Date.now() < deadline && events.at(-1)?.total !== 6) await new Promise((resolve) => setTimeout(resolve, 50))
    await reader.cancel()
    await reading.catch(() => {})
    expect(events[0]?.total).toBe(0)
    expect(events.at(-1)?.options.map((o) => [o.id, o.votes])).toEqual([
      ["a", 4],
      ["b", 2]
    ])
    // Totals only ever rise here (no voter leaves), and never overshoot one vote per voter.
    expect(Math.max(...events.map((e) => e.total))).toBe(6)

    // The ballot page marks the voter's current choice.
    const page = await (
      await fetch(`${vote.url}/`, { headers: { cookie: `voter_id=${cookies.get("ann")}; voter_choice=a` } })
    ).text()
    expect(page).toMatch(/value="a" aria-pressed="true"/)

    // Health and metrics on every component.
    for (const component of components) {
      expect((await fetch(`${component.url}/readyz`)).status).toBe(200)
      expect(await (await fetch(`${component.url}/metrics`)).text()).toMatch(/^# (HELP|TYPE) /m)
    }
    const worker = components.find((component) => component.name === "worker")!
    const workerMetrics = await (await fetch(`${worker.url}/metrics`)).text()
    expect(workerMetrics).toMatch(/worker_votes_recorded_total 10\b/)
  })
})
