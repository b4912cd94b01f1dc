/**
 * A burst of votes as many distinct voters: each POST /api/vote is sent with no
 * cookie, so the vote service gives each one a new voter id.
 *
 *   node scripts/castVotes.ts --url http://localhost:8080 --count 500
 *   node scripts/castVotes.ts --url https://vote.localhost --count 500 --options a,b --concurrency 20
 *
 * For https with the dev certificate, set NODE_EXTRA_CA_CERTS=.dev/tls/ca.crt
 * (the Tiltfile's button does). Bounded in count and time; exits non-zero if any
 * vote was not accepted.
 *
 * Through the Ingress the votes all come from one address, and the edge limits
 * votes per address (Traefik's rate limit, manifests/ingress-controller): a 429
 * is waited out as its Retry-After says and the vote sent again, for at most
 * --retry-ms per vote. So the burst is paced by the limit, and every vote still
 * has to be accepted; `rateLimited` counts the 429s waited out.
 */
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://localhost:8080" },
    count: { type: "string", default: "500" },
    options: { type: "string", default: "a,b" },
    concurrency: { type: "string", default: "20" },
    "timeout-ms": { type: "string", default: "10000" },
    "retry-ms": { type: "string", default: "60000" }
  }
})

const positiveInt = (name: string, raw: string | undefined): number => {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`)
  return n
}

const endpoint = new URL("/api/vote", values.url).toString()
const count = positiveInt("count", values.count)
const concurrency = Math.min(positiveInt("concurrency", values.concurrency), count)
const timeoutMs = positiveInt("timeout-ms", values["timeout-ms"])
const retryMs = positiveInt("retry-ms", values["retry-ms"])
const choices = (values.options ?? "a,b").split(",").filter((id) => id.length > 0)

const statuses = new Map<string, number>()
const tally = new Map<string, number>()
let next = 0
let rateLimited = 0

/** How long a 429 asks to wait: Retry-After in seconds (Traefik's rate limit sends it), else a second. */
const retryAfterMs = (response: Response): number => {
  const seconds = Number(response.headers.get("retry-after"))
  return Number.isFinite(seconds) && seconds >= 0 ? Math.max(seconds * 1000, 100) : 1000
}

const castOne = async (index: number): Promise<void> => {
  const vote = choices[index % choices.length] ?? "a"
  const giveUpAt = performance.now() + retryMs
  let outcome: string
  for (;;) {
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ vote }),
        signal: AbortSignal.timeout(timeoutMs)
      })
      await response.arrayBuffer()
      outcome = String(response.status)
      if (response.status === 429) {
        const wait = retryAfterMs(response)
        if (performance.now() + wait <= giveUpAt) {
          rateLimited++
          await new Promise((resolve) => setTimeout(resolve, wait))
          continue
        }
      }
      if (response.status === 202) tally.set(vote, (tally.get(vote) ?? 0) + 1)
    } catch (error) {
      outcome = error instanceof Error ? error.name : "error"
    }
    break
  }
  statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1)
}

const lane = async (): Promise<void> => {
  while (next < count) {
    const index = next++
    await castOne(index)
  }
}

const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, lane))
const seconds = (performance.now() - started) / 1000

const accepted = statuses.get("202") ?? 0
console.log(
  JSON.stringify({
    endpoint,
    sent: count,
    accepted,
    byStatus: Object.fromEntries(statuses),
    rateLimited,
    acceptedByOption: Object.fromEntries(tally),
    seconds: Number(seconds.toFixed(2)),
    votesPerSecond: Number((count / seconds).toFixed(1))
  })
)
if (accepted !== count) process.exitCode = 1
