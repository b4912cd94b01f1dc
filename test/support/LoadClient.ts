import { randomBytes } from "node:crypto"

/** What the load client saw, counted from the last `resetCounts`. */
export interface LoadCounts {
  /** Answered 202 or 303: these votes must count. */
  answered: number
  /** Answered 503: "not recorded", retried. */
  refused: number
  /** No answer (connection refused or reset, timeout): retried. */
  unanswered: number
  /** Any other answer, with its status and body: never expected under load. */
  unexpected: Array<string>
  /** When each unanswered attempt failed, and how (ECONNREFUSED, ECONNRESET, a timeout). */
  failures: Array<{ readonly at: number; readonly sentAt: number; readonly code: string }>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A voter id as the vote service issues them: 16 random bytes, base64url. */
export const newVoterId = () => randomBytes(16).toString("base64url")

/**
 * Casts votes continuously from many voters, some changing their minds, and
 * keeps the ground truth: for each voter the latest vote answered 2xx.
 *
 * Each voter sends one request at a time (two of one voter's requests in
 * flight at once have no defined order). A vote that got no clear answer
 * (503, no response) is sent again, the same choice, until it is answered, as
 * a person would; so whatever happened to the unanswered attempt, the voter's
 * latest answered vote is also the latest one sent. Voters carry their own
 * valid `voter_id` cookie from the first request on.
 */
export class LoadClient {
  /** Voter id → the option of the latest vote answered 2xx. */
  readonly truth = new Map<string, string>()
  readonly counts: LoadCounts = { answered: 0, refused: 0, unanswered: 0, unexpected: [], failures: [] }
  private running = false
  private loops: Array<Promise<void>> = []
  private readonly voters: Array<string>
  /** Where the vote service is now (it may be restarted elsewhere). */
  private readonly target: () => string
  private readonly options: ReadonlyArray<string>
  /** Pause between one voter's votes, in ms. */
  private readonly pauseMs: number

  constructor(target: () => string, options: ReadonlyArray<string>, voters: number, pauseMs = 40) {
    this.target = target
    this.options = options
    this.pauseMs = pauseMs
    this.voters = Array.from({ length: voters }, newVoterId)
  }

  resetCounts() {
    this.counts.answered = 0
    this.counts.refused = 0
    this.counts.unanswered = 0
    this.counts.unexpected = []
    this.counts.failures = []
  }

  start() {
    if (this.running) return
    this.running = true
    this.loops = this.voters.map((voter, index) => this.voterLoop(voter, index % 2 === 0 ? "form" : "json"))
  }

  /** Stops casting new votes; resolves when every voter's last vote has been answered (or the deadline passed). */
  async stop(deadlineMs = 45_000) {
    this.running = false
    this.drainDeadline = Date.now() + deadlineMs
    await Promise.all(this.loops)
    this.loops = []
  }

  /** Voters whose last vote never got an answer before the deadline: their truth is unknown. */
  readonly unsettled = new Set<string>()
  private drainDeadline = Number.POSITIVE_INFINITY

  private async voterLoop(voter: string, via: "form" | "json") {
    while (this.running) {
      const current = this.truth.get(voter)
      // Most votes change the voter's mind; some repeat it.
      const choice =
        current !== undefined && Math.random() < 0.2
          ? current
          : (this.options[Math.floor(Math.random() * this.options.length)] as string)
      await this.castUntilAnswered(voter, choice, via)
      await sleep(this.pauseMs / 2 + Math.random() * this.pauseMs)
    }
  }

  private async castUntilAnswered(voter: string, choice: string, via: "form" | "json") {
    for (;;) {
      const outcome = await this.cast(voter, choice, via)
      if (outcome === "answered") {
        this.truth.set(voter, choice)
        this.unsettled.delete(voter)
        this.counts.answered += 1
        return
      }
      if (outcome === "unexpected") return
      if (outcome === "refused") this.counts.refused += 1
      else this.counts.unanswered += 1
      if (Date.now() > this.drainDeadline) {
        this.unsettled.add(voter)
        return
      }
      await sleep(100 + Math.random() * 100)
    }
  }

  private async cast(voter: string, choice: string, via: "form" | "json") {
    const sentAt = Date.now()
    try {
      const response = await fetch(`${this.target()}${via === "form" ? "/" : "/api/vote"}`, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": via === "form" ? "application/x-www-form-urlencoded" : "application/json",
          cookie: `voter_id=${voter}`
        },
        body: via === "form" ? `vote=${choice}` : JSON.stringify({ vote: choice }),
        signal: AbortSignal.timeout(5_000)
      })
      const body = await response.text()
      if (response.status === (via === "form" ? 303 : 202)) return "answered"
      if (response.status === 503) return "refused"
      this.counts.unexpected.push(`${response.status} ${body.slice(0, 200)}`)
      return "unexpected"
    } catch (error) {
      this.counts.failures.push({ at: Date.now(), sentAt, code: failureCode(error) })
      return "unanswered"
    }
  }
}

/** The most specific code down an error's causes (fetch wraps the socket's error). */
const failureCode = (error: unknown): string => {
  let code = "unknown"
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const own = (current as { code?: unknown }).code
    code = typeof own === "string" ? own : current.name
  }
  return code
}
