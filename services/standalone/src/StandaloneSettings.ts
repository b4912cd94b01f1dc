import { resolve } from "node:path"
import { InvalidConfig } from "@voting/domain"
import { decodeValue, defaultPorts, PortNumber } from "@voting/platform"
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

/** The pages default to the vote and result components' own ports. */
export const standaloneDefaults = {
  dataDir: ".data",
  votePort: defaultPorts.vote,
  resultPort: defaultPorts.result
} as const

/** A port from the environment, read as the components read PORT; unset or empty means `fallback`. */
const port = (key: string, fallback: number, env: Record<string, string | undefined>) => {
  const raw = env[key]
  return raw === undefined || raw === ""
    ? Effect.succeed(fallback)
    : decodeValue(PortNumber, key, `environment variable ${key}`)(raw)
}

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
