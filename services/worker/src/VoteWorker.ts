import { hostname } from "node:os"
import { MalformedMessage, type QueuedVote } from "@voting/domain"
import { Health, LivePoll, retryWithBackoff, TracingEnabled } from "@voting/platform"
import { type Delivery, VoteQueue } from "@voting/queue"
import { VoteStore } from "@voting/store"
import { Clock, Deferred, Duration, Effect, Fiber, FiberSet, Layer, Metric, Semaphore, type Tracer } from "effect"
import { decodeDelivery, deliveryTrace } from "./DecodeDelivery.ts"
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
  /**
   * Batches taken off the queue and not yet acknowledged, at most: while some
   * commit, the next is read. Each needs a database connection of its own.
   */
  readonly batchesInFlight: number
  /** How long one read waits for new votes before looking for stale ones again. */
  readonly block: Duration.Duration
  /** Entries another consumer has held this long are presumed abandoned (it crashed) and taken over. */
  readonly reclaimIdle: Duration.Duration
  /**
   * How often to look for such entries. Not before every read: with several
   * batches in flight the pending list is thousands of entries long, and
   * scanning it for each batch cost Redis about 3 µs a vote, measured.
   */
  readonly reclaimEvery: Duration.Duration
  /** The consumer's name in the group; unique per process. */
  readonly consumer: string
  /** How long shutdown waits for the batches in hand before leaving them to be reclaimed. */
  readonly drainTimeout: Duration.Duration
  /**
   * On shutdown, go on until the queue is empty (within `drainTimeout`) rather
   * than stop after the batches in hand. For the in-process queue, which dies
   * with the process; a Redis queue keeps its votes for the next worker.
   */
  readonly drainOnStop?: boolean
}

export const defaultWorkerSettings: WorkerSettings = {
  batchSize: 1000,
  batchesInFlight: 3,
  block: Duration.seconds(1),
  reclaimIdle: Duration.seconds(10),
  reclaimEvery: Duration.seconds(1),
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

    const tracing = yield* TracingEnabled

    const recordBatch = Effect.fnUntraced(function* (deliveries: ReadonlyArray<Delivery>) {
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

    /**
     * With tracing on, the batch span links to the span that queued each vote
     * (one link a traced vote, in the one span): a batch joins many traces, so
     * it is a span of its own linked to each, not a child of any. Links cost
     * a small object a vote; a child span a vote would cost a thousand spans
     * a batch to build, export and store.
     */
    const processBatch = (deliveries: ReadonlyArray<Delivery>) => {
      if (!tracing) return Effect.withSpan(recordBatch(deliveries), "VoteWorker.processBatch")
      const links: Array<Tracer.SpanLink> = []
      for (const delivery of deliveries) {
        const span = deliveryTrace(delivery)
        if (span?.sampled) links.push({ span, attributes: { "messaging.message.id": delivery.id } })
      }
      return Effect.withSpan(recordBatch(deliveries), "VoteWorker.processBatch", {
        kind: "consumer",
        links,
        attributes: { "messaging.batch.message_count": deliveries.length }
      })
    }

    // Entries a crashed consumer held come first: they are the oldest votes waiting. A full batch of them
    // means there may be more, so the next read looks again.
    let reclaimDueAt = 0
    const nextBatch = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (now >= reclaimDueAt) {
        const stale = yield* reclaimPersistently(
          queue.reclaim({ consumer: settings.consumer, count: settings.batchSize, minIdle: settings.reclaimIdle })
        )
        reclaimDueAt = stale.length < settings.batchSize ? now + Duration.toMillis(settings.reclaimEvery) : now
        if (stale.length > 0) {
          yield* Metric.update(reclaimed, stale.length)
          return stale
        }
      }
      return yield* receivePersistently(
        queue.receive({ consumer: settings.consumer, count: settings.batchSize, block: settings.block })
      )
    })

    return { processBatch, nextBatch }
  })

/**
 * Keeps up to `batchesInFlight` batches between the queue and the store: the
 * next batch is read while earlier ones commit, and each batch acknowledges
 * only its own entries, once its own transaction committed. A slot is taken
 * before a read, so the worker never holds more than that many batches; the
 * order in which they commit does not matter, the store keeps the vote queued
 * last. Ends when `readMore` says so (checked before each read) or when a read
 * comes back empty and `untilEmpty` is set, once every batch in flight is
 * done; a batch that dies takes the pipeline with it.
 */
const runPipeline = (
  worker: Effect.Success<ReturnType<typeof makeVoteWorker>>,
  settings: WorkerSettings,
  readMore: Effect.Effect<boolean>,
  untilEmpty: boolean
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const slots = yield* Semaphore.make(settings.batchesInFlight)
      const inFlight = yield* FiberSet.make<void>()
      const reading = Effect.gen(function* () {
        for (;;) {
          yield* Semaphore.take(slots, 1)
          if (!(yield* readMore)) return yield* Semaphore.release(slots, 1)
          const batch = yield* worker.nextBatch
          if (batch.length === 0) {
            yield* Semaphore.release(slots, 1)
            if (untilEmpty) return
            continue
          }
          yield* FiberSet.run(inFlight, Effect.ensuring(worker.processBatch(batch), Semaphore.release(slots, 1)))
        }
      })
      yield* Effect.raceFirst(Effect.andThen(reading, FiberSet.awaitEmpty(inFlight)), FiberSet.join(inFlight))
    })
  )

/**
 * The worker loop as a layer: starts with the layer and, on shutdown, finishes
 * the batches in hand (or leaves them unacknowledged, to be reclaimed), or with
 * `drainOnStop` everything queued, before the connections close.
 */
export const VoteWorkerLoop = (settings: WorkerSettings = defaultWorkerSettings) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const health = yield* Health
      const worker = yield* makeVoteWorker(settings)
      const running = Effect.map(Deferred.isDone(health.stopping), (stopping) => !stopping)
      const loop = Effect.andThen(
        runPipeline(worker, settings, running, false),
        settings.drainOnStop ? runPipeline(worker, settings, Effect.succeed(true), true) : Effect.void
      )
      const fiber = yield* Effect.forkScoped(loop)
      yield* Effect.addFinalizer(() => Fiber.await(fiber).pipe(Effect.timeout(settings.drainTimeout), Effect.ignore))
      yield* Effect.logInfo("worker consuming", {
        consumer: settings.consumer,
        batchSize: settings.batchSize,
        batchesInFlight: settings.batchesInFlight
      })
    })
  ).pipe(Layer.merge(WorkerMetricsAtZero))
