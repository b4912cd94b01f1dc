import { Health, LivePoll, RedisConnection, serveHttp } from "@voting/platform"
import { QueueGauges, VoteQueue } from "@voting/queue"
import { assetRoutes } from "@voting/web"
import { Effect, Layer } from "effect"
import { BallotBox } from "./BallotBox.ts"
import { resultsLinkLayer } from "./ResultsLink.ts"
import { VoteMetricsAtZero } from "./VoteMetrics.ts"
import { VoteRateLimit } from "./VoteRateLimit.ts"
import { VoteRoutes } from "./VoteRoutes.ts"

/**
 * The vote service over whatever VoteQueue and LivePoll it is given; ready while the queue answers.
 * `resultsUrl` is where its "See the results" link points when RESULT_PUBLIC_URL is unset (by
 * default the result service's default port here).
 */
export const VoteApp = (options: { readonly port?: number; readonly resultsUrl?: URL } = {}) =>
  Layer.mergeAll(
    serveHttp(
      "vote",
      Layer.mergeAll(VoteRoutes, assetRoutes({ base: new URL("../assets/", import.meta.url), names: [] })),
      options
    ),
    // The producer samples the queue too: its lag stays visible while every worker is stopped.
    QueueGauges,
    VoteMetricsAtZero,
    Layer.effectDiscard(
      Effect.gen(function* () {
        const health = yield* Health
        const queue = yield* VoteQueue
        yield* health.addCheck("queue", queue.ping)
      })
    )
  ).pipe(
    Layer.provide(BallotBox.layer),
    Layer.provide(VoteRateLimit.layer),
    Layer.provide(resultsLinkLayer(options.resultsUrl))
  )

/** The vote service as its container runs it: Redis queue, poll from mounted config. */
export const VoteLive = VoteApp().pipe(
  Layer.provide(VoteQueue.layerRedis),
  Layer.provide(RedisConnection.layerConfig("vote")),
  Layer.provide(LivePoll.layer)
)
