import { isIP } from "node:net"
import { resolve } from "node:path"
import { InvalidConfig } from "@voting/domain"
import { decodeValue, defaultPorts, PortNumber, type ValueCodec } from "@voting/platform"
import { Effect, Schema } from "effect"

/**
 * What only `npm start` reads, from the environment: where the embedded
 * database keeps its files, which address and ports the two pages listen on.
 * The cluster never sets these, so they are not among the components' config
 * keys.
 */
export interface StandaloneSettings {
  readonly dataDir: string
  /** The address both pages listen on. */
  readonly host: string
  readonly votePort: number
  readonly resultPort: number
}

/**
 * The pages default to the vote and result components' own ports, on this
 * machine only: they are plain HTTP, and /metrics is served beside them, so
 * the network sees them only when HOST says so.
 */
export const standaloneDefaults = {
  dataDir: ".data",
  host: "127.0.0.1",
  votePort: defaultPorts.vote,
  resultPort: defaultPorts.result
} as const

/** A host name's shape: dot-separated labels of letters, digits and inner hyphens. */
const hostName =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** HOST: an IPv4 or IPv6 address (0.0.0.0 or :: for every interface), or a host name of this machine. */
const ListenAddress: ValueCodec<string> = Schema.String.check(
  Schema.makeFilter<string>(
    (raw) =>
      isIP(raw) !== 0 || hostName.test(raw) ? true : `"${raw.slice(0, 40)}" is not an IP address or a host name`,
    undefined,
    true
  )
)

/** Loopback or every interface: this machine reaches the pages at `localhost` either way. */
const reachedAsLocalhost = (host: string) =>
  host === "localhost" || host === "0.0.0.0" || host === "::" || host === "::1" || host.startsWith("127.")

/** True when HOST opens the pages to other machines: anything but a loopback address. */
export const listensBeyondThisMachine = (host: string) =>
  !(host === "localhost" || host === "::1" || host.startsWith("127."))

/** A page's address as printed and linked: `localhost` unless HOST is one other address. */
export const pageUrl = (host: string, port: number) =>
  new URL(`http://${reachedAsLocalhost(host) ? "localhost" : isIP(host) === 6 ? `[${host}]` : host}:${port}/`)

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
    const host =
      env.HOST === undefined || env.HOST === ""
        ? standaloneDefaults.host
        : yield* decodeValue(ListenAddress, "HOST", "environment variable HOST")(env.HOST)
    return { dataDir, host, votePort, resultPort } satisfies StandaloneSettings
  })
