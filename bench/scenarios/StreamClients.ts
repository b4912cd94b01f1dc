import { type EventStreamClient, openEventStream } from "../support/EventStream.ts"
import { residentMb } from "../support/Memory.ts"
import type { BenchProcess } from "../support/Services.ts"
import { sleep } from "../support/Stats.ts"
import { castTimedVote } from "../support/TimedVote.ts"

export interface StreamClientsResult {
  readonly clients: number
  readonly connected: number
  readonly resultResidentMb: number
  /** From one vote's 202 until every client has an event that includes it. */
  readonly fanOutMs: number | undefined
}

/**
 * Opens many `GET /api/results/stream` clients, reads the result service's
 * resident memory with all of them connected, then casts one vote and times
 * how long until every client has seen it.
 */
export const streamClients = async (
  vote: BenchProcess,
  result: BenchProcess,
  clients: number,
  log: (line: string) => void
): Promise<StreamClientsResult> => {
  const open: Array<EventStreamClient> = []
  try {
    // In waves, so the listen backlog never overflows.
    for (let i = 0; i < clients; i += 50) {
      const wave = Math.min(50, clients - i)
      open.push(
        ...(await Promise.all(Array.from({ length: wave }, () => openEventStream(`${result.url}/api/results/stream`))))
      )
    }
    await Promise.all(open.map((client) => client.waitFor(() => true)))
    await sleep(2_000)
    const resultResidentMb = Math.round(residentMb(result.pid) ?? 0)
    const before = Math.max(...open.map((client) => client.latest()?.data.total ?? 0))
    const answeredAt = await castTimedVote(vote.url, "a")
    const seen = await Promise.all(open.map((client) => client.waitFor((event) => event.data.total > before, 15_000)))
    const fanOutMs = Math.max(...seen.map((event) => event.receivedAt)) - answeredAt
    log(
      `  ${open.length} event-stream clients: result service ${resultResidentMb} MB resident; ` +
        `one vote reached all of them ${fanOutMs.toFixed(0)} ms after its 202`
    )
    return { clients, connected: open.length, resultResidentMb, fanOutMs: Math.round(fanOutMs) }
  } finally {
    for (const client of open) client.close()
  }
}
