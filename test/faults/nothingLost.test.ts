import { hostname } from "node:os"
import type { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { type FaultRow, formatFaultTable } from "../support/FaultTable.ts"
import { LoadClient, newVoterId } from "../support/LoadClient.ts"
import { lockVotesTable } from "../support/PrivatePostgres.ts"
import type { RunningComponent } from "../support/Processes.ts"
import { reconcile, waitUntilDrained } from "../support/Reconcile.ts"
import { watchResults } from "../support/ResultsWatcher.ts"

/**
 * Nothing is lost: the three services run as processes against a Redis and a
 * PostgreSQL of the suite's own while a load client votes from many voters
 * and keeps the ground truth. Each scenario breaks something at random
 * instants, several times; once the queue is drained the rows, the tally table
 * and /api/results must equal the truth exactly. One deployment serves every
 * scenario, so the truth accumulates: a later scenario also proves that an
 * earlier one left nothing behind.
 */

const streamKey = "voting:votes"
const deadKey = "voting:votes:dead"
const group = "workers"
const pollOptions = ["a", "b", "c"]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const randomBetween = (min: number, max: number) => min + Math.random() * (max - min)

describe("no vote lost, none counted twice, no older vote winning", () => {
  let deployment: Deployment
  let redis: Redis
  let vote: RunningComponent
  let result: RunningComponent
  let workers: Array<RunningComponent> = []
  let load: LoadClient
  /** Votes the tests put on the queue themselves: voter → the option that must win. */
  const injectedTruth = new Map<string, string>()
  const rows: Array<FaultRow> = []
  const started = Date.now()

  const truth = () => new Map([...load.truth, ...injectedTruth])

  beforeAll(async () => {
    // The load client votes from one address, dozens of votes a second: the per-client limit is off, so
    // every refusal here is the fault's, never the limiter's.
    deployment = await startDeployment({ env: { VOTE_RATE_LIMIT: "0" } })
    redis = deployment.redis.client()
    ;[vote, result] = await Promise.all([deployment.start("vote"), deployment.start("result")])
    workers = [await deployment.start("worker")]
    load = new LoadClient(() => vote.url, pollOptions, 24, 60)
  }, 120_000)

  afterAll(async () => {
    await load?.stop(5_000)
    const output = deployment?.allOutput() ?? ""
    await deployment?.tearDown()
    console.log(`\nFault suite (${((Date.now() - started) / 1000).toFixed(0)} s)\n${formatFaultTable(rows)}\n`)
    // No component ever failed to start or crashed on its own, whatever was done to it.
    expect(output).not.toMatch(/"level":"FATAL"/)
  }, 60_000)

  /** The consumer name a worker process uses in the group. */
  const consumerOf = (worker: RunningComponent) => `${hostname()}-${worker.child.pid}`

  const pendingPerConsumer = async () => {
    const summary = (await redis.xpending(streamKey, group)) as [
      number,
      unknown,
      unknown,
      Array<[string, string]> | null
    ]
    return new Map((summary[3] ?? []).map(([consumer, count]) => [consumer, Number(count)]))
  }

  /** Waits until a worker holds a batch it has not acknowledged. */
  const waitForPending = async (among: ReadonlyArray<RunningComponent>) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const pending = await pendingPerConsumer()
      const holding = among.filter((worker) => (pending.get(consumerOf(worker)) ?? 0) > 0)
      if (holding.length > 0) return { holding, pending }
      if (Date.now() > deadline) throw new Error("no worker took a batch while the votes table was locked")
      await sleep(20)
    }
  }

  /** Whether stream entry `id` comes at or before `last` (ids are "<ms>-<seq>"). */
  const atOrBefore = (id: string, last: string) => {
    const [ms, seq] = id.split("-").map(BigInt) as [bigint, bigint]
    const [lastMs, lastSeq] = last.split("-").map(BigInt) as [bigint, bigint]
    return ms < lastMs || (ms === lastMs && seq <= lastSeq)
  }

  /** Whether the worker has a transaction open: a lock taken now would wait for it. */
  const workerInTransaction = async () => {
    const [open] = await deployment.postgres.query(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'voting-worker' AND state <> 'idle'"
    )
    return Number(open) > 0
  }

  /**
   * Locks the votes table with `count` votes of voters who never vote again
   * at the head of the queue, so the worker's next batches take them and stop
   * at the lock. The load's voters vote again within a second, which would
   * hide a batch acknowledged before its commit and then lost; these voters
   * cannot. The worker is paused (SIGSTOP) meanwhile, between transactions:
   * paused inside one, it would hold the lock's way.
   */
  const lockWithOneTimeVotesQueued = async (worker: RunningComponent, count: number) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      worker.child.kill("SIGSTOP")
      // A statement it already sent finishes on its own.
      await sleep(50)
      if (!(await workerInTransaction())) break
      worker.child.kill("SIGCONT")
      if (Date.now() > deadline) throw new Error("the worker was inside a transaction at every pause")
      await sleep(randomBetween(5, 50))
    }
    try {
      const at = new Date().toISOString()
      const voters = Array.from({ length: count }, newVoterId)
      const queued = redis.multi()
      for (const [i, voter] of voters.entries()) {
        queued.xadd(streamKey, "*", "voter", voter, "option", pollOptions[i % 3] as string, "at", at)
      }
      const replies = (await queued.exec()) ?? []
      for (const [i, voter] of voters.entries()) injectedTruth.set(voter, pollOptions[i % 3] as string)
      const oneTime = replies.map(([error, id]) => {
        if (error) throw error
        return id as string
      })
      return { lock: await lockVotesTable(deployment.postgres), oneTime }
    } finally {
      worker.child.kill("SIGCONT")
    }
  }

  /** How many of `ids` the group has delivered to a worker (with one worker: taken by it). */
  const deliveredOf = async (ids: ReadonlyArray<string>) => {
    const groups = (await redis.xinfo("GROUPS", streamKey)) as Array<Array<string>>
    const fieldsOf = (flat: Array<string>) =>
      new Map(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]))
    const last =
      groups
        .map(fieldsOf)
        .find((fields) => fields.get("name") === group)
        ?.get("last-delivered-id") ?? "0-0"
    return ids.filter((id) => atOrBefore(id, last)).length
  }

  /**
   * Runs one scenario `repetitions` times under load: the fault at a random
   * instant, votes still coming for a while after it, then load stops, the
   * queue drains, and the store and the API must equal the truth.
   */
  const scenario = async (
    name: string,
    repetitions: number,
    fault: (repetition: number) => Promise<{ readonly recoverFrom: number; readonly note?: string }>
  ) => {
    load.resetCounts()
    let worstRecover = 0
    const notes: Array<string> = []
    let last: Awaited<ReturnType<typeof reconcile>> | undefined
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const watcher = await watchResults(result.url)
      load.start()
      await sleep(randomBetween(300, 1_500))
      const { recoverFrom, note } = await fault(repetition)
      if (note) notes.push(note)
      await sleep(1_000)
      await load.stop()
      await waitUntilDrained(redis, streamKey, 60_000)
      last = await reconcile(deployment.postgres, result.url, truth(), 20_000)
      worstRecover = Math.max(worstRecover, Date.now() - recoverFrom)
      // The stream that stayed open through the fault followed the store on its own.
      const streamDeadline = Date.now() + 10_000
      while (watcher.state.latest?.total !== truth().size && Date.now() < streamDeadline) await sleep(100)
      const streamed = watcher.state.latest
      await watcher.close()
      expect(load.unsettled.size, `${name}: voters whose last vote never got an answer`).toBe(0)
      expect(last.differences, `${name}, repetition ${repetition + 1}`).toEqual([])
      expect(streamed?.total, `${name}: total on the results stream opened before the fault`).toBe(truth().size)
    }
    const counts = load.counts
    rows.push({
      scenario: `${name} ×${repetitions}`,
      answered: counts.answered,
      counted: last?.counted ?? 0,
      lost: last?.lost ?? 0,
      doubleCounted: last?.doubleCounted ?? 0,
      recoverMs: worstRecover,
      notes: [
        counts.refused > 0 ? `${counts.refused}×503` : "",
        counts.unanswered > 0 ? `${counts.unanswered} unanswered` : "",
        ...notes
      ]
        .filter((note) => note.length > 0)
        .join(", ")
    })
    expect(counts.unexpected, `${name}: answers other than 2xx/303/503`).toEqual([])
  }

  /** Waits until the worker has `count` batches stopped at their INSERT behind the lock: in the database at once. */
  const waitForBatchesInDatabase = async (count: number) => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const [waiting] = await deployment.postgres.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'voting-worker' AND wait_event_type = 'Lock'"
      )
      if (Number(waiting) >= count) return Number(waiting)
      if (Date.now() > deadline) throw new Error(`the worker never had ${count} batches waiting at the lock`)
      await sleep(20)
    }
  }

  /**
   * SIGKILL, and the batches it had waiting at the lock die with it: a backend
   * finishes a statement its dead client sent, so they are ended too, and
   * their votes can only come back through the queue.
   */
  const killWithItsBatches = async (worker: RunningComponent) => {
    await worker.stop("SIGKILL")
    await deployment.postgres.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'voting-worker' AND wait_event_type = 'Lock'"
    )
  }

  it("survives the worker killed with SIGKILL mid-batch, then restarted", async () => {
    await scenario("worker SIGKILL mid-batch, restarted", 3, async (repetition) => {
      const worker = workers[0] as RunningComponent
      // Twice with a batch provably in hand (stuck at its INSERT behind a lock), once at a blind instant.
      const { lock, oneTime } =
        repetition < 2 ? await lockWithOneTimeVotesQueued(worker, 100) : { lock: undefined, oneTime: [] }
      let held = 0
      if (lock) {
        await waitForBatchesInDatabase(1)
        held = (await pendingPerConsumer()).get(consumerOf(worker)) ?? 0
      }
      // Nothing commits behind the lock: every one-time vote delivered so far is in the batch killed.
      const heldOneTime = await deliveredOf(oneTime)
      const killedAt = Date.now()
      if (lock) await killWithItsBatches(worker)
      else await worker.stop("SIGKILL")
      await lock?.release()
      workers = [await deployment.start("worker")]
      if (lock) expect(heldOneTime, "one-time votes in the batch killed").toBeGreaterThan(0)
      return { recoverFrom: killedAt, note: lock ? `killed holding ${held} (${heldOneTime} one-time)` : "" }
    })
  }, 240_000)

  it("survives the worker killed with SIGKILL while several batches are in the database at once", async () => {
    await scenario("worker SIGKILL, 3 batches in flight", 2, async () => {
      const worker = workers[0] as RunningComponent
      const { lock, oneTime } = await lockWithOneTimeVotesQueued(worker, 300)
      const batches = await waitForBatchesInDatabase(3)
      const held = (await pendingPerConsumer()).get(consumerOf(worker)) ?? 0
      const heldOneTime = await deliveredOf(oneTime)
      const killedAt = Date.now()
      await killWithItsBatches(worker)
      await lock.release()
      workers = [await deployment.start("worker")]
      expect(heldOneTime, "one-time votes in the batches killed").toBeGreaterThan(0)
      return {
        recoverFrom: killedAt,
        note: `killed with ${batches} batches (${held} votes, ${heldOneTime} one-time) in flight`
      }
    })
  }, 240_000)

  it("survives one of two worker replicas killed with SIGKILL", async () => {
    workers.push(await deployment.start("worker"))
    await scenario("2 worker replicas, one SIGKILLed", 2, async () => {
      const lock = await lockVotesTable(deployment.postgres)
      const { holding, pending } = await waitForPending(workers)
      const victim = holding[Math.floor(Math.random() * holding.length)] as RunningComponent
      const killedAt = Date.now()
      await victim.stop("SIGKILL")
      await lock.release()
      // The survivor alone takes over what the victim held; a new replica replaces it afterwards.
      const survivor = workers.find((worker) => worker !== victim) as RunningComponent
      const deadline = Date.now() + 30_000
      while ((await pendingPerConsumer()).get(consumerOf(victim)) !== undefined && Date.now() < deadline) {
        await sleep(100)
      }
      expect((await pendingPerConsumer()).get(consumerOf(victim)), "entries left with the killed replica").toBe(
        undefined
      )
      workers = [survivor, await deployment.start("worker")]
      return { recoverFrom: killedAt, note: `killed holding ${pending.get(consumerOf(victim))}` }
    })
    // Back to one replica for the scenarios that follow.
    const extra = workers.pop() as RunningComponent
    await extra.stop("SIGTERM")
  }, 240_000)

  it("survives PostgreSQL stopped for 10 seconds while votes keep coming", async () => {
    let refusedWhileDown = 0
    await scenario("PostgreSQL stopped 10 s", 2, async () => {
      const before = load.counts.refused + load.counts.unanswered
      const answeredBefore = load.counts.answered
      await deployment.postgres.stop("fast")
      await sleep(10_000)
      refusedWhileDown += load.counts.refused + load.counts.unanswered - before
      const acceptedWhileDown = load.counts.answered - answeredBefore
      await deployment.postgres.start()
      return { recoverFrom: Date.now(), note: `${acceptedWhileDown} accepted while down` }
    })
    // The vote service does not need the database: it kept accepting throughout.
    expect(refusedWhileDown).toBe(0)
  }, 240_000)

  it("survives Redis restarted with append-only persistence, answering 503 (never a false success) while it is down", async () => {
    await scenario("Redis restarted (AOF): SIGTERM, then SIGKILL", 2, async (repetition) => {
      const refusedBefore = load.counts.refused + load.counts.unanswered
      await deployment.redis.stop(repetition === 0 ? "SIGTERM" : "SIGKILL")
      await sleep(3_000)
      const refusedWhileDown = load.counts.refused + load.counts.unanswered - refusedBefore
      await deployment.redis.start()
      // While Redis was down votes were refused (and the truth shows none of them was a false success).
      expect(refusedWhileDown).toBeGreaterThan(0)
      return { recoverFrom: Date.now() }
    })
  }, 240_000)

  it("finishes requests in flight when the vote service gets SIGTERM, and refuses new ones only after readiness goes false", async () => {
    await scenario("vote service SIGTERM under load", 2, async () => {
      const port = vote.port
      let readinessFalseAt: number | undefined
      const probing = (async () => {
        while (readinessFalseAt === undefined) {
          const ok = await fetch(`${vote.url}/readyz`, { signal: AbortSignal.timeout(1_000) })
            .then((response) => response.status === 200)
            .catch(() => false)
          if (!ok) readinessFalseAt = Date.now()
          else await sleep(5)
        }
      })()
      const failuresBefore = load.counts.failures.length
      const signalledAt = Date.now()
      const code = await vote.stop("SIGTERM")
      const exitedAt = Date.now()
      await probing
      expect(code, "the vote service's exit code after SIGTERM").toBe(0)
      const failures = load.counts.failures.slice(failuresBefore)
      // A request sent before the signal was answered; none was cut off mid-way.
      const cutOff = failures.filter((failure) => failure.sentAt < signalledAt)
      expect(cutOff, "requests sent before SIGTERM that got no answer").toEqual([])
      // Nothing was refused before readiness said so.
      expect(failures.filter((failure) => failure.at < (readinessFalseAt as number))).toEqual([])
      vote = await deployment.start("vote", { port })
      return { recoverFrom: Date.now(), note: `exit ${exitedAt - signalledAt} ms after SIGTERM` }
    })
  }, 240_000)

  it("counts the latest of duplicate and out-of-order deliveries injected onto the queue", async () => {
    await scenario("duplicate + out-of-order deliveries", 2, async () => {
      const voters = Array.from({ length: 20 }, newVoterId)
      const now = Date.now()
      const older = voters.map((voter, i) => ({
        voter,
        option: pollOptions[i % 3] as string,
        at: new Date(now).toISOString()
      }))
      // The older votes go on the queue and straight into a consumer that never finishes them (a stuck
      // worker): atomically, so no real worker sees them first. They come back only once reclaimed.
      const stuck = redis.multi()
      for (const vote of older) stuck.xadd(streamKey, "*", "voter", vote.voter, "option", vote.option, "at", vote.at)
      stuck.xreadgroup("GROUP", group, "stuck-consumer", "COUNT", 100_000, "STREAMS", streamKey, ">")
      await stuck.exec()
      // The newer votes, each sent twice; half of them carry an older clock (a vote replica whose clock
      // lags): the queue's order decides, not the timestamp.
      for (const [i, vote] of older.entries()) {
        const option = pollOptions[(i + 1) % 3] as string
        const at = new Date(i % 2 === 0 ? now + 1_000 : now - 3_600_000).toISOString()
        await redis.xadd(streamKey, "*", "voter", vote.voter, "option", option, "at", at)
        await redis.xadd(streamKey, "*", "voter", vote.voter, "option", option, "at", at)
        injectedTruth.set(vote.voter, option)
      }
      return { recoverFrom: now, note: "older votes reclaimed after 10 s idle" }
    })
  }, 240_000)

  it("dead-letters malformed queue messages with a reason, without blocking the queue", async () => {
    const deadBefore = await redis.xlen(deadKey)
    const malformed: Array<[string, Array<string>]> = []
    await scenario("malformed messages", 1, async () => {
      const at = new Date().toISOString()
      const good = newVoterId()
      malformed.push(
        ["bad JSON", ["json", '{"voter": "x", "option": ']],
        ["unknown option", ["voter", newVoterId(), "option", "zebra", "at", at]],
        ["missing fields", ["voter", newVoterId()]],
        ["huge payload", ["voter", newVoterId(), "option", "a", "at", at, "pad", "x".repeat(1_000_000)]],
        ["bad voter id", ["voter", "<script>", "option", "a", "at", at]],
        ["bad instant", ["voter", newVoterId(), "option", "a", "at", "yesterday"]]
      )
      for (const [, fields] of malformed) await redis.xadd(streamKey, "*", ...fields)
      // A valid vote queued behind them still gets counted.
      await redis.xadd(streamKey, "*", "voter", good, "option", "b", "at", at)
      injectedTruth.set(good, "b")
      return { recoverFrom: Date.now() }
    })
    const dead = (await redis.xrange(deadKey, "-", "+")).slice(deadBefore)
    expect(dead).toHaveLength(malformed.length)
    for (const [, fields] of dead) {
      const entry = Object.fromEntries(
        Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]])
      )
      expect(entry.reason, JSON.stringify(entry).slice(0, 300)).toMatch(/\w+/)
      expect((entry.payload as string).length).toBeLessThanOrEqual(512)
    }
    const reasons = dead.map(([, fields]) => fields[fields.indexOf("reason") + 1])
    expect(reasons).toEqual([
      expect.stringMatching(/missing field/),
      expect.stringMatching(/zebra.*not an option/),
      expect.stringMatching(/missing field\(s\): option, at/),
      expect.stringMatching(/over \d+ bytes/),
      expect.stringMatching(/voter/),
      expect.stringMatching(/ISO 8601/)
    ])
  }, 240_000)

  it("never shows the database password in any log line or metric", async () => {
    const metrics = await Promise.all(
      [vote, result, ...workers].map(async (component) => (await fetch(`${component.url}/metrics`)).text())
    )
    for (const secret of deployment.secrets) {
      expect(metrics.join("\n")).not.toContain(secret)
      expect(deployment.allOutput()).not.toContain(secret)
    }
    // The scan itself can fail: the secret really was in use (the database asks for it over TCP).
    expect(deployment.allOutput().length).toBeGreaterThan(0)
  })
})
