import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { LoadClient } from "../support/LoadClient.ts"
import { lockVotesTable } from "../support/PrivatePostgres.ts"
import type { RunningComponent } from "../support/Processes.ts"
import { reconcile, waitUntilDrained } from "../support/Reconcile.ts"

/**
 * A flood while the worker lags, against a Redis bounded the way the cluster
 * bounds it (manifests/base/redis.yaml: --maxmemory with noeviction), only
 * much smaller: once Redis is full the vote service's append script gets OOM
 * and voters get 503, never a false 202; nothing is evicted, and every vote
 * answered 202 is counted once the worker drains the queue, which it can do
 * while Redis is still full.
 */

const streamKey = "voting:votes"
const pollOptions = ["a", "b", "c"]
/** Redis's own use is about 0.9 MB: this leaves room for some ten thousand votes. */
const maxmemory = "2mb"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const infoNumber = (info: string, field: string) => Number(new RegExp(`^${field}:(\\d+)`, "m").exec(info)?.[1] ?? 0)

/** How many commands Redis refused with OOM since it started. */
const oomRefusals = async (redis: Redis) =>
  Number(/^errorstat_OOM:count=(\d+)/m.exec(await redis.info("errorstats"))?.[1] ?? 0)

/** The value of an unlabelled metric (a counter's or a gauge's) in Prometheus text. */
const metricValue = (text: string, name: string) => {
  const match = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, "m").exec(text)
  return match?.[1] === undefined ? undefined : Number(match[1])
}

describe("a flood against a full Redis (maxmemory, noeviction)", () => {
  let deployment: Deployment
  let redis: Redis
  let vote: RunningComponent
  let result: RunningComponent

  beforeAll(async () => {
    deployment = await startDeployment({
      env: { VOTE_RATE_LIMIT: "0" },
      redisArgs: ["--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"]
    })
    redis = deployment.redis.client()
    // No worker yet: it lags, so the queue only grows.
    ;[vote, result] = await Promise.all([deployment.start("vote"), deployment.start("result")])
  }, 120_000)

  afterAll(async () => {
    const output = deployment?.allOutput() ?? ""
    await deployment?.tearDown()
    expect(output).not.toMatch(/"level":"FATAL"/)
  }, 60_000)

  it("answers 503 once Redis is full, never a false 202, and counts every vote it answered 202", async () => {
    const flood = new LoadClient(() => vote.url, pollOptions, 64, 0)
    flood.start()
    // Until Redis has refused for a while: every voter then retries its refused vote.
    const deadline = Date.now() + 90_000
    while (flood.counts.refused < 300 && Date.now() < deadline) await sleep(200)
    const memory = await redis.info("memory")
    const queued = await redis.xlen(streamKey)
    expect(flood.counts.refused, "votes refused with 503 while Redis was full").toBeGreaterThanOrEqual(300)
    expect(await oomRefusals(redis), "appends Redis refused with OOM").toBeGreaterThan(0)
    // Full up to the bound and no further: nothing was evicted to make room.
    expect(infoNumber(await redis.info("stats"), "evicted_keys")).toBe(0)
    expect(infoNumber(memory, "maxmemory")).toBe(2 * 1024 * 1024)
    expect(queued).toBeGreaterThan(1_000)

    // The worker starts while Redis is full. With the votes table locked it holds its first batch,
    // so its gauges show the backlog an operator would be alerted to.
    const lock = await lockVotesTable(deployment.postgres)
    const worker = await deployment.start("worker")
    let metrics = ""
    const gaugeDeadline = Date.now() + 15_000
    while (Date.now() < gaugeDeadline) {
      metrics = await (await fetch(`${worker.url}/metrics`)).text()
      if ((metricValue(metrics, "vote_queue_entries") ?? 0) > 0) break
      await sleep(200)
    }
    await lock.release()
    expect(metricValue(metrics, "vote_queue_entries"), metrics).toBeGreaterThan(1_000)
    expect(metricValue(metrics, "vote_queue_memory_used_ratio")).toBeGreaterThan(0.8)
    expect(metrics).toMatch(/^# HELP vote_queue_entries /m)

    // The worker drains the queue (reading and deleting need no new memory), the refused voters
    // get through as room frees up, and the store equals what was answered 202.
    await flood.stop(60_000)
    await waitUntilDrained(redis, streamKey, 60_000)
    const reconciled = await reconcile(deployment.postgres, result.url, flood.truth, 20_000)
    expect(flood.counts.unexpected, "answers other than 202/303/503").toEqual([])
    expect(flood.counts.unanswered, "votes that got no answer at all").toBe(0)
    expect(flood.unsettled.size, "voters whose last vote never got an answer").toBe(0)
    expect(reconciled.differences).toEqual([])
    expect(reconciled.counted).toBe(flood.truth.size)
    // Each vote answered 202 was one entry on the queue, and the worker recorded every entry.
    const accepted = metricValue(await (await fetch(`${vote.url}/metrics`)).text(), "votes_accepted_total")
    const recorded = metricValue(await (await fetch(`${worker.url}/metrics`)).text(), "worker_votes_recorded_total")
    expect(accepted, "votes the vote service put on the queue").toBe(flood.counts.answered)
    expect(recorded, "votes the worker recorded").toBeGreaterThanOrEqual(flood.counts.answered)
    console.log(
      `\nRedis full at ${maxmemory}: ${queued} votes queued, ${flood.counts.answered} answered 202/303, ` +
        `${flood.counts.refused} refused with 503, ${reconciled.counted} voters counted, none lost\n`
    )
  }, 240_000)
})
