import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { redisUrl } from "../support/globalSetup.ts"
import { parseMetrics, sampleValue } from "../support/MetricsText.ts"
import { freePort, migrate, type RunningComponent, startComponent } from "../support/Processes.ts"
import { testDatabase } from "../support/TestDatabase.ts"
import { deleteKeys, testPrefix } from "../support/TestRedis.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface QueueLag {
  readonly entries: number
  readonly age: number
}

/** The vote service's queue gauges, as a scraper reads them. */
const queueLag = async (vote: RunningComponent): Promise<QueueLag> => {
  const families = parseMetrics(await (await fetch(`${vote.url}/metrics`)).text())
  return {
    entries: sampleValue(families, "vote_queue_entries") ?? Number.NaN,
    age: sampleValue(families, "vote_queue_oldest_pending_age_seconds") ?? Number.NaN
  }
}

/** Scrapes until `done` holds (the gauges are sampled every 5 seconds), or fails with the last reading. */
const lagUntil = async (vote: RunningComponent, what: string, done: (lag: QueueLag) => boolean) => {
  const deadline = Date.now() + 30_000
  let last = await queueLag(vote)
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after 30 s`)
    await sleep(200)
    last = await queueLag(vote)
  }
  return last
}

/**
 * The lag an operator watches, with real processes: while the only worker is
 * frozen (SIGSTOP, as a stuck or descheduled process), votes pile up and the
 * vote service's own gauges show the queue growing and its oldest vote
 * ageing; once the worker runs again (SIGCONT) both fall to 0.
 */
describe("the queue-lag gauges follow a paused worker", () => {
  const prefix = testPrefix()
  const scope = Effect.runSync(Scope.make())
  const components: Array<RunningComponent> = []
  let vote: RunningComponent
  let worker: RunningComponent

  beforeAll(async () => {
    const database = await Effect.runPromise(Scope.provide(testDatabase, scope))
    const env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }
    await migrate(env)
    const [votePort, workerPort] = await Promise.all([freePort(), freePort()])
    // Started with node itself, not npm, so SIGSTOP and SIGCONT reach the worker's own process.
    vote = await startComponent("vote", { port: votePort, env, via: "node" })
    components.push(vote)
    worker = await startComponent("worker", { port: workerPort, env, via: "node" })
    components.push(worker)
  }, 90_000)

  afterAll(async () => {
    worker?.child.kill("SIGCONT")
    await Promise.all(components.map((component) => component.stop("SIGTERM")))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Effect.runPromise(deleteKeys(prefix))
    for (const component of components) expect(component.output()).not.toMatch(/"level":"(ERROR|FATAL)"/)
  }, 30_000)

  it("grows while the worker is stopped and falls to 0 when it resumes", async () => {
    await lagUntil(vote, "an empty queue at start", (lag) => lag.entries === 0 && lag.age === 0)

    expect(worker.child.kill("SIGSTOP")).toBe(true)
    const votes = 25
    for (let i = 0; i < votes; i++) {
      const response = await fetch(`${vote.url}/api/vote`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ vote: i % 2 === 0 ? "a" : "b" })
      })
      expect(response.status).toBe(202)
    }
    // Every vote is on the queue, and the oldest has been waiting.
    const piled = await lagUntil(vote, "the votes on the queue", (lag) => lag.entries === votes && lag.age > 0)
    // A later sample: still all there, and the oldest older by about the sampling interval.
    const later = await lagUntil(vote, "the oldest vote ageing", (lag) => lag.age >= piled.age + 2)
    expect(later.entries).toBe(votes)

    expect(worker.child.kill("SIGCONT")).toBe(true)
    await lagUntil(vote, "the drained queue", (lag) => lag.entries === 0 && lag.age === 0)
    const recorded = sampleValue(
      parseMetrics(await (await fetch(`${worker.url}/metrics`)).text()),
      "worker_votes_recorded_total"
    )
    expect(recorded).toBe(votes)
  })
})
