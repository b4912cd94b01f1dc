import { Health, LivePoll, PostgresConnection, RedisConnection, serveHealth, servePorts } from "@voting/platform"
import { QueueGauges, VoteQueue } from "@voting/queue"
import { VoteStore } from "@voting/store"
import { Effect, Layer } from "effect"
import { defaultWorkerSettings, VoteWorkerLoop, type WorkerSettings } from "./VoteWorker.ts"

/**
 * The worker over whatever queue, store and poll it is given, with its health
 * port: MANAGEMENT_PORT if set, else PORT. The ports are read before the loop
 * starts, so a bad one stops the worker before it consumes or logs anything.
 */
export const WorkerApp = (options: { readonly settings?: WorkerSettings; readonly port?: number } = {}) =>
  Layer.unwrap(
    Effect.map(servePorts("worker", options.port === undefined ? {} : { port: options.port }), (ports) =>
      Layer.mergeAll(
        VoteWorkerLoop(options.settings ?? defaultWorkerSettings),
        QueueGauges,
        serveHealth("worker", ports),
        Layer.effectDiscard(
          Effect.gen(function* () {
            const health = yield* Health
            const queue = yield* VoteQueue
            const store = yield* VoteStore
            yield* health.addCheck("queue", queue.ping)
            yield* health.addCheck("store", store.ping)
          })
        )
      )
    )
  )

/**
 * The worker as its container runs it: Redis queue, PostgreSQL store, a
 * connection for each batch in flight and one for the health check.
 */
export const WorkerLive = WorkerApp().pipe(
  Layer.provide(VoteQueue.layerRedis),
  Layer.provide(RedisConnection.layerConfig("worker")),
  Layer.provide(VoteStore.layerPg),
  Layer.provide(
    PostgresConnection.layerConfig({
      applicationName: "voting-worker",
      role: "writer",
      maxConnections: defaultWorkerSettings.batchesInFlight + 1
    })
  ),
  Layer.provide(LivePoll.layer)
)
