import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { freePort } from "../../support/Processes.ts"
import { startStandalone } from "../../support/Standalone.ts"

export interface NpmStart {
  readonly votePort: number
  readonly resultPort: number
  /** Everything it wrote so far, the banner included. */
  readonly output: () => string
  /** Ctrl-C to the whole process group; resolves once it is gone, and deletes its data. */
  readonly stop: () => Promise<void>
}

/** Runs `npm start` (embedded queue and database) on two free ports with `env` added, ready on both pages. */
export const startNpmStart = async (env: Record<string, string> = {}): Promise<NpmStart> => {
  const dataDir = mkdtempSync("/tmp/voting-security-npm-start-")
  const [votePort, resultPort] = [await freePort(), await freePort()]
  try {
    const app = await startStandalone({ dataDir, votePort, resultPort, env })
    return {
      votePort,
      resultPort,
      output: app.output,
      stop: () => app.interrupt().finally(() => rmSync(dataDir, { recursive: true, force: true }))
    }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

/** This machine's IPv4 addresses other than loopback (none on a machine with only `lo`). */
export const nonLoopbackAddresses = (): Array<string> =>
  Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && address.family === "IPv4" && !address.internal)
    .map((address) => address!.address)

const ipv4FromProc = (hex: string) => [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)).join(".")

/**
 * The local addresses the kernel says sockets listen on at `port` (Linux's
 * /proc/net/tcp and tcp6): `0.0.0.0` or `::` for every interface. Empty where
 * /proc is not there.
 */
export const listeningAddresses = (port: number): Array<string> => {
  const found: Array<string> = []
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string
    try {
      text = readFileSync(file, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (local === undefined || state !== "0A") continue
      const [address, portHex] = local.split(":")
      if (Number.parseInt(portHex ?? "", 16) !== port || address === undefined) continue
      if (address.length === 8) found.push(ipv4FromProc(address))
      else if (/^0+$/.test(address)) found.push("::")
      else if (address === "00000000000000000000000001000000") found.push("::1")
      else found.push(address)
    }
  }
  return found
}
