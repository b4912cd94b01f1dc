import { Health, LivePoll, PostgresConnection, RedisConnection, serveHttp } from "@voting/platform"
import { RedisVoteQueue, VoteQueue } from "@voting/queue"
import { PgVoteStore, VoteStore } from "@voting/store"
import { Effect, Layer } from "effect"
import { defaultWorkerSettings, VoteWorkerLoop, type WorkerSettings } from "./VoteWorker.ts"

/** The worker over whatever queue, store and poll it is given, with its health port. */
export const WorkerApp = (options: { readonly settings?: WorkerSettings; readonly port?: number } = {}) =>
  Layer.mergeAll(
    VoteWorkerLoop(options.settings ?? defaultWorkerSettings),
    serveHttp("worker", Layer.empty, options.port === undefined ? {} : { port: options.port }),
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

/** The worker as its container runs it: Redis queue, PostgreSQL store. */
export const WorkerLive = WorkerApp().pipe(
  Layer.provide(RedisVoteQueue.layer),
  Layer.provide(RedisConnection.layerConfig("worker")),
  Layer.provide(PgVoteStore.layer),
  Layer.provide(PostgresConnection.layerConfig({ applicationName: "voting-worker" })),
  Layer.provide(LivePoll.layer)
)
