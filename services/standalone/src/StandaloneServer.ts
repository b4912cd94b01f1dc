import { ListenHost, LivePoll } from "@voting/platform"
import { ResultApp } from "@voting/result/ResultServer"
import { VoteApp } from "@voting/vote/VoteServer"
import { defaultWorkerSettings, VoteWorkerLoop } from "@voting/worker/VoteWorker"
import { Effect, Layer } from "effect"
import { type Backends, chooseBackends, queueLayer, storeLayer } from "./Backends.ts"
import { banner } from "./Banner.ts"
import { pageUrl, type StandaloneSettings, standaloneSettings } from "./StandaloneSettings.ts"

/**
 * The vote page, the worker and the result page in one process, from the same
 * layers the separate services run, sharing one queue, one store and one
 * live poll. The worker has no port of its own here: the queue and store it
 * uses are already among the checks behind both pages' /readyz.
 */
export const StandaloneApp = (settings: StandaloneSettings, backends: Backends) => {
  const services = Layer.mergeAll(
    // Each page links to the other at its port here, unless RESULT_PUBLIC_URL / VOTE_PUBLIC_URL say otherwise.
    VoteApp({ port: settings.votePort, resultsUrl: pageUrl(settings.host, settings.resultPort) }),
    ResultApp({ port: settings.resultPort, voteUrl: pageUrl(settings.host, settings.votePort) }),
    // The in-process queue dies with the process: on Ctrl-C, count what it holds first.
    VoteWorkerLoop({ ...defaultWorkerSettings, drainOnStop: backends.queue === "in-process" })
  ).pipe(
    Layer.provide([queueLayer(backends), storeLayer(backends, settings.dataDir)]),
    Layer.provide(LivePoll.layer),
    // Both pages listen on HOST only (127.0.0.1 by default), not on every interface as the components do.
    Layer.provide(Layer.succeed(ListenHost, settings.host))
  )
  // Built after the servers listen, so the URLs it prints already answer.
  const announce = Layer.effectDiscard(Effect.sync(() => process.stderr.write(banner(settings, backends))))
  return announce.pipe(Layer.provide(services))
}

/** `npm start`: the settings and backends decide the layers. */
export const StandaloneLive = Layer.unwrap(
  Effect.gen(function* () {
    const settings = yield* standaloneSettings()
    const backends = yield* chooseBackends
    return StandaloneApp(settings, backends)
  })
)
