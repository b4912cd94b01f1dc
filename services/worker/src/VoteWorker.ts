import { hostname } from "node:os"
import { MalformedMessage, type QueuedVote } from "@voting/domain"
import { Health, LivePoll, retryWithBackoff } from "@voting/platform"
import { type Delivery, VoteQueue } from "@voting/queue"
import { VoteStore } from "@voting/store"
import { Deferred, Duration, Effect, Fiber, Layer, Metric } from "effect"
import { decodeDelivery } from "./DecodeDelivery.ts"
import {
  batchesCommitted,
  batchSize,
  commitDuration,
  deadLetters,
  dependencyFailures,
  reclaimed,
  rowsChanged,
  votesRecorded,
  WorkerMetricsAtZero
} from "./WorkerMetrics.ts"

export interface WorkerSettings {
  /** Votes taken off the queue at once and committed in one transaction. */
  readonly batchSize: number
  /** How long one read waits for new votes before looking for stale ones again. */
  readonly block: Duration.Duration
  /** Entries another consumer has held this long are presumed abandoned (it crashed) and taken over. */
  readonly reclaimIdle: Duration.Duration
  /** The consumer's name in the group; unique per process. */
  readonly consumer: string
  /** How long shutdown waits for the batch in hand before leaving it to be reclaimed. */
  readonly drainTimeout: Duration.Duration
  /**
   * On shutdown, go on until the queue is empty (within `drainTimeout`) rather
   * than stop after the batch in hand. For the in-process queue, which dies
   * with the process; a Redis queue keeps its votes for the next worker.
   */
  readonly drainOnStop?: boolean
}

export const defaultWorkerSettings: WorkerSettings = {
  batchSize: 1000,
  block: Duration.seconds(1),
  reclaimIdle: Duration.seconds(10),
  consumer: `${hostname()}-${process.pid}`,
  drainTimeout: Duration.seconds(5)
}

const countFailure = Metric.update(dependencyFailures, 1)

/** Runs a dependency call until it succeeds, counting and logging each failure. */
const persistently = (operation: string) =>
  retryWithBackoff(`${operation} failed; retrying with backoff`, { onFailure: countFailure })

const deadLetterPersistently = persistently("dead-letter")
const recordPersistently = persistently("record votes")
const acknowledgePersistently = persistently("acknowledge")
const reclaimPersistently = persistently("reclaim")
const receivePersistently = persistently("receive")

/** The store write, timed into the commit histogram when it succeeds (a failed attempt is retried and counted apart). */
const timedCommit = <A, E, R>(write: Effect.Effect<A, E, R>) =>
  Effect.map(
    Effect.tap(Effect.timed(write), ([took]) => Metric.update(commitDuration, Duration.toSeconds(took))),
    ([, result]) => result
  )

/**
 * Moves votes from the queue to the store. A batch is acknowledged only after
 * its votes are committed, so a crash at any instant leaves them on the queue
 * to be delivered again, and the store's ordering rule makes the replay
 * harmless. Malformed entries are dead-lettered with the reason, once.
 */
export const makeVoteWorker = (settings: WorkerSettings) =>
  Effect.gen(function* () {
    const queue = yield* VoteQueue
    const store = yield* VoteStore
    const livePoll = yield* LivePoll

    const processBatch = Effect.fn("VoteWorker.processBatch")(function* (deliveries: ReadonlyArray<Delivery>) {
      const poll = yield* livePoll.current
      const votes: Array<QueuedVote> = []
      for (const delivery of deliveries) {
        const decoded = decodeDelivery(delivery, poll)
        if (decoded instanceof MalformedMessage) {
          yield* Effect.logWarning("dead-lettering a malformed queue entry", {
            entry: decoded.entryId,
            reason: decoded.reason
          })
          yield* deadLetterPersistently(queue.deadLetter(delivery, decoded.reason))
          yield* Metric.update(deadLetters, 1)
        } else {
          votes.push(decoded)
        }
      }
      if (votes.length === 0) return
      const changed = yield* recordPersistently(timedCommit(store.record(votes)))
      yield* acknowledgePersistently(queue.acknowledge(votes.map((v) => v.entryId)))
      yield* Metric.update(votesRecorded, votes.length)
      yield* Metric.update(batchSize, votes.length)
      yield* Metric.update(rowsChanged, changed)
      yield* Metric.update(batchesCommitted, 1)
    })

    // Entries a crashed consumer held come first: they are the oldest votes waiting.
    const nextBatch = Effect.gen(function* () {
      const stale = yield* reclaimPersistently(
        queue.reclaim({ consumer: settings.consumer, count: settings.batchSize, minIdle: settings.reclaimIdle })
      )
      if (stale.length > 0) {
        yield* Metric.update(reclaimed, stale.length)
        return stale
      }
      return yield* receivePersistently(
        queue.receive({ consumer: settings.consumer, count: settings.batchSize, block: settings.block })
      )
    })

    return { processBatch, nextBatch }
  })

/**
 * The worker loop as a layer: starts with the layer and, on shutdown, finishes
 * the batch in hand (or leaves it unacknowledged, to be reclaimed), or with
 * `drainOnStop` everything queued, before the connections close.
 */
export const VoteWorkerLoop = (settings: WorkerSettings = defaultWorkerSettings) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const health = yield* Health
      const worker = yield* makeVoteWorker(settings)
      const loop = Effect.gen(function* () {
        while (!(yield* Deferred.isDone(health.stopping))) {
          const batch = yield* worker.nextBatch
          if (batch.length > 0) yield* worker.processBatch(batch)
        }
        while (settings.drainOnStop) {
          const batch = yield* worker.nextBatch
          if (batch.length === 0) return
          yield* worker.processBatch(batch)
        }
      })
      const fiber = yield* Effect.forkScoped(loop)
      yield* Effect.addFinalizer(() => Fiber.await(fiber).pipe(Effect.timeout(settings.drainTimeout), Effect.ignore))
      yield* Effect.logInfo("worker consuming", { consumer: settings.consumer, batchSize: settings.batchSize })
    })
  ).pipe(Layer.merge(WorkerMetricsAtZero))
