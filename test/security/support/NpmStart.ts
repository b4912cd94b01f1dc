import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { networkInterfaces } from "node:os"
import { freePort, repositoryRoot, waitForOk } from "../../support/Processes.ts"

/** Keys that would switch `npm start` to real servers or other ports; these tests run it as a laptop does. */
const serverKeys = ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "DATABASE_URL", "POSTGRES_HOST", "PORT", "HOST"]

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
  const base: Record<string, string | undefined> = { ...process.env }
  for (const key of serverKeys) delete base[key]
  const dataDir = mkdtempSync("/tmp/voting-security-npm-start-")
  const [votePort, resultPort] = [await freePort(), await freePort()]
  const child: ChildProcess = spawn("npm", ["start", "--silent"], {
    cwd: repositoryRoot,
    env: { ...base, DATA_DIR: dataDir, VOTE_PORT: String(votePort), RESULT_PORT: String(resultPort), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  let output = ""
  child.stdout?.on("data", (chunk) => {
    output += chunk
  })
  child.stderr?.on("data", (chunk) => {
    output += chunk
  })
  const closed = once(child, "close")
  const alive = () => {
    try {
      process.kill(-(child.pid as number), 0)
      return true
    } catch {
      return false
    }
  }
  const stop = async () => {
    if (child.pid !== undefined && alive()) {
      process.kill(-child.pid, "SIGINT")
      const overran = new Promise<"overran">((resolve) => setTimeout(() => resolve("overran"), 10_000).unref())
      if ((await Promise.race([closed, overran])) === "overran" && alive()) process.kill(-child.pid, "SIGKILL")
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    // 127.0.0.1 answers whatever HOST is (0.0.0.0 and :: include it).
    await waitForOk(`http://127.0.0.1:${votePort}/readyz`, 60_000, () => output)
    await waitForOk(`http://127.0.0.1:${resultPort}/readyz`, 10_000, () => output)
  } catch (error) {
    await stop()
    throw error
  }
  return { votePort, resultPort, output: () => output, stop }
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
