import { defaultPorts, localPageUrl, votePublicUrlConfig } from "@voting/platform"
import { Context, Layer } from "effect"

/**
 * Where the results page's "Vote" link points: the ballot as voters reach it.
 * Unless a layer below says otherwise, the vote service's default port on
 * this machine.
 */
export const VoteLink = Context.Reference<URL>("@voting/result/VoteLink", {
  defaultValue: () => localPageUrl(defaultPorts.vote)
})

/** VOTE_PUBLIC_URL, read once at start, or `fallback` (by default, as above); a malformed one stops the service. */
export const voteLinkLayer = (fallback?: URL) => Layer.effect(VoteLink, votePublicUrlConfig(fallback))
