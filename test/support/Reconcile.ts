import type { Redis } from "ioredis"
import type { PrivatePostgres } from "./PrivatePostgres.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How the stored votes compare with the ground truth. */
export interface Reconciliation {
  /** Voters in the store. */
  readonly counted: number
  /** Voters of the truth whose row is missing or holds another (older) vote. */
  readonly lost: number
  /** Votes counted beyond the truth: rows for voters nobody answered for, or tallies over the truth. */
  readonly doubleCounted: number
  /** Whether rows, the tally table and /api/results all equal the truth. */
  readonly exact: boolean
  /** What differs, for the failure message. */
  readonly differences: ReadonlyArray<string>
}

/** Waits until the vote stream holds no entry (every vote recorded and acknowledged, or dead-lettered). */
export const waitUntilDrained = async (redis: Redis, streamKey: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const length = await redis.xlen(streamKey).catch(() => -1)
    if (length === 0) return
    if (Date.now() > deadline) throw new Error(`${streamKey} still holds ${length} entries after ${timeoutMs} ms`)
    await sleep(100)
  }
}

const countPerOption = (votes: ReadonlyMap<string, string>) => {
  const counts = new Map<string, number>()
  for (const option of votes.values()) counts.set(option, (counts.get(option) ?? 0) + 1)
  return counts
}

interface ApiResults {
  readonly options: ReadonlyArray<{ readonly id: string; readonly votes: number }>
  readonly total: number
}

/**
 * Compares the store (rows and the tally table) and the result service's
 * /api/results with the truth. The API is read until it agrees or the
 * deadline passes: it follows the store asynchronously.
 */
export const reconcile = async (
  postgres: PrivatePostgres,
  resultUrl: string,
  truth: ReadonlyMap<string, string>,
  timeoutMs = 15_000
): Promise<Reconciliation> => {
  const rows = new Map(
    (await postgres.query("SELECT voter_id, option_id FROM votes")).map((line) => line.split("|") as [string, string])
  )
  const tallies = new Map(
    (await postgres.query("SELECT option_id, votes FROM option_tallies")).map((line) => {
      const [option, votes] = line.split("|") as [string, string]
      return [option, Number(votes)] as const
    })
  )
  const expected = countPerOption(truth)
  const differences: Array<string> = []
  let lost = 0
  for (const [voter, option] of truth) {
    const stored = rows.get(voter)
    if (stored !== option) {
      lost += 1
      if (differences.length < 10) differences.push(`voter ${voter}: expected ${option}, stored ${stored ?? "nothing"}`)
    }
  }
  let phantom = 0
  for (const voter of rows.keys()) if (!truth.has(voter)) phantom += 1
  if (phantom > 0) differences.push(`${phantom} stored voters nobody was answered for`)

  const options = new Set([...expected.keys(), ...tallies.keys()])
  let overTally = 0
  for (const option of options) {
    const want = expected.get(option) ?? 0
    const have = tallies.get(option) ?? 0
    if (have !== want) differences.push(`option_tallies ${option}: ${have}, truth ${want}`)
    overTally += Math.max(0, have - want)
  }

  let api: ApiResults | undefined
  let apiExact = false
  const deadline = Date.now() + timeoutMs
  while (!apiExact && Date.now() < deadline) {
    try {
      api = (await (
        await fetch(`${resultUrl}/api/results`, { signal: AbortSignal.timeout(2_000) })
      ).json()) as ApiResults
      apiExact =
        api.total === truth.size && api.options.every((option) => option.votes === (expected.get(option.id) ?? 0))
    } catch {
      api = undefined
    }
    if (!apiExact) await sleep(100)
  }
  let overApi = 0
  if (!apiExact) {
    differences.push(
      `/api/results ${JSON.stringify(api?.options ?? "unreachable")}, truth ${JSON.stringify([...expected])}`
    )
    for (const option of api?.options ?? []) overApi += Math.max(0, option.votes - (expected.get(option.id) ?? 0))
  }
  return {
    counted: rows.size,
    lost,
    doubleCounted: Math.max(phantom, overTally, overApi),
    exact: differences.length === 0,
    differences
  }
}
