import { resolve } from "node:path"
import { InvalidConfig } from "@voting/domain"
import { Effect } from "effect"

/**
 * What only `npm start` reads, from the environment: where the embedded
 * database keeps its files and which ports the two pages use. The cluster
 * never sets these, so they are not among the components' config keys.
 */
export interface StandaloneSettings {
  readonly dataDir: string
  readonly votePort: number
  readonly resultPort: number
}

export const standaloneDefaults = { dataDir: ".data", votePort: 8080, resultPort: 8081 } as const

const port = (key: string, fallback: number, env: Record<string, string | undefined>) =>
  Effect.gen(function* () {
    const raw = env[key]
    if (raw === undefined || raw === "") return fallback
    const value = Number(raw)
    if (/^\d{1,5}$/.test(raw) && value > 0 && value < 65536) return value
    return yield* new InvalidConfig({
      key,
      source: `environment variable ${key}`,
      problem: `"${raw.slice(0, 20)}" is not a port number (1-65535)`
    })
  })

export const standaloneSettings = (env: Record<string, string | undefined> = process.env) =>
  Effect.gen(function* () {
    const votePort = yield* port("VOTE_PORT", standaloneDefaults.votePort, env)
    const resultPort = yield* port("RESULT_PORT", standaloneDefaults.resultPort, env)
    if (votePort === resultPort) {
      return yield* new InvalidConfig({
        key: "RESULT_PORT",
        source: "environment variables VOTE_PORT and RESULT_PORT",
        problem: `the vote and result pages cannot share port ${votePort}`
      })
    }
    // Relative to where `npm start` runs: the repository root.
    const dataDir = resolve(env.DATA_DIR || standaloneDefaults.dataDir)
    return { dataDir, votePort, resultPort } satisfies StandaloneSettings
  })
