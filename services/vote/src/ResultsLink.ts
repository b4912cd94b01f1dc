import { defaultPorts, localPageUrl, resultPublicUrlConfig } from "@voting/platform"
import { Context, Layer } from "effect"

/**
 * Where the ballot's "See the results" link points: the results page as
 * voters reach it. Unless a layer below says otherwise, the result service's
 * default port on this machine.
 */
export const ResultsLink = Context.Reference<URL>("@voting/vote/ResultsLink", {
  defaultValue: () => localPageUrl(defaultPorts.result)
})

/** RESULT_PUBLIC_URL, read once at start, or `fallback` (by default, as above); a malformed one stops the service. */
export const resultsLinkLayer = (fallback?: URL) => Layer.effect(ResultsLink, resultPublicUrlConfig(fallback))
