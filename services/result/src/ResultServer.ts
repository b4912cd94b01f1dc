import { Health, LivePoll, metricsAtZero, PostgresConnection, serveHttp, servePorts } from "@voting/platform"
import { VoteStore } from "@voting/store"
import { assetRoutes } from "@voting/web"
import { Effect, Layer, Metric, Schema } from "effect"
import { ResultsPageRoute } from "./ResultRoutes.ts"
import { ResultsApiRoutes } from "./ResultsApi.ts"
import { ResultsFeed, tallyReads } from "./ResultsFeed.ts"
import { ResultsStreamRoute, resultPushes, streamClients, streamsRefused } from "./ResultsStream.ts"
import { voteLinkLayer } from "./VoteLink.ts"

/** What the change-feed check says while the feed is down: the page's counts may be stale. */
class NotListening extends Schema.TaggedError<NotListening>()("NotListening", {}) {
  override get message(): string {
    return "not listening for changes"
  }
}

const ResultRoutes = Layer.mergeAll(
  ResultsPageRoute,
  ResultsApiRoutes,
  ResultsStreamRoute,
  assetRoutes({ base: new URL("../assets/", import.meta.url), names: ["results.js"] })
)

/** The result service's metrics, both refusal reasons included, exported at 0 from the start. */
const ResultMetricsAtZero = metricsAtZero([
  tallyReads,
  resultPushes,
  streamClients,
  ...(["per-client", "capacity"] as const).map((reason) => Metric.withAttributes(streamsRefused, { reason }))
])

/**
 * The result service over whatever VoteStore and LivePoll it is given; ready
 * while the store and its feed answer. Its ports and VOTE_PUBLIC_URL are read
 * before the feed starts, so a bad one stops it before the feed logs anything.
 * `voteUrl` is where its "Vote" link points when VOTE_PUBLIC_URL is unset (by
 * default the vote service's default port here).
 */
export const ResultApp = (options: { readonly port?: number; readonly voteUrl?: URL } = {}) =>
  Layer.unwrap(
    Effect.map(servePorts("result", options), (ports) =>
      Layer.mergeAll(
        serveHttp("result", ResultRoutes, ports),
        ResultMetricsAtZero,
        Layer.effectDiscard(
          Effect.gen(function* () {
            const health = yield* Health
            const store = yield* VoteStore
            const feed = yield* ResultsFeed
            yield* health.addCheck("store", store.ping)
            yield* health.addCheck(
              "change-feed",
              Effect.flatMap(feed.listening, (up) => (up ? Effect.void : Effect.fail(new NotListening())))
            )
          })
        )
      ).pipe(Layer.provide(ResultsFeed.layer), Layer.provide(voteLinkLayer(options.voteUrl)))
    )
  )

/** The result service as its container runs it: PostgreSQL store, poll from mounted config. */
export const ResultLive = ResultApp().pipe(
  Layer.provide(VoteStore.layerPg),
  Layer.provide(PostgresConnection.layerConfig({ applicationName: "voting-result", role: "reader" })),
  Layer.provide(LivePoll.layer)
)
