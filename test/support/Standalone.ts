import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { repositoryRoot, waitForOk } from "./Processes.ts"

export interface Standalone {
  readonly voteUrl: string
  readonly resultUrl: string
  /** Everything the process wrote so far. */
  readonly output: () => string
  /**
   * Ctrl-C, as a person at the terminal would: SIGINT to the whole process
   * group. Resolves once npm and node have both exited (node holds the output
   * pipes until it is gone); rejects if that takes longer than the contract's
   * 10 seconds, after killing what is left.
   */
  readonly interrupt: () => Promise<void>
}

/**
 * Keys that would switch `npm start` to real servers, another address or other links; the tests run
 * it as a laptop does, and set what they check themselves.
 */
export const inheritedKeys = [
  "REDIS_URL",
  "REDIS_HOST",
  "REDIS_PORT",
  "DATABASE_URL",
  "POSTGRES_HOST",
  "PORT",
  "HOST",
  // The pages' links then point at the two ports here.
  "RESULT_PUBLIC_URL",
  "VOTE_PUBLIC_URL"
]

/**
 * Runs `npm start` as a person would, with its own data directory, config
 * directory and ports, and waits until both pages are ready.
 */
export const startStandalone = async (options: {
  readonly dataDir: string
  readonly configDir?: string
  readonly votePort: number
  readonly resultPort: number
  /** Added last: what a test sets on purpose. */
  readonly env?: Record<string, string>
}): Promise<Standalone> => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const key of inheritedKeys) delete env[key]
  const child: ChildProcess = spawn("npm", ["start", "--silent"], {
    cwd: repositoryRoot,
    env: {
      ...env,
      DATA_DIR: options.dataDir,
      ...(options.configDir === undefined ? {} : { CONFIG_DIR: options.configDir }),
      VOTE_PORT: String(options.votePort),
      RESULT_PORT: String(options.resultPort),
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so an interrupt reaches npm and node together, as Ctrl-C does.
    detached: true
  })
  let output = ""
  child.stdout?.on("data", (chunk) => {
    output += chunk
  })
  child.stderr?.on("data", (chunk) => {
    output += chunk
  })
  // "close" comes after the exit and after every process holding the pipes (node) is gone.
  const closed = once(child, "close")
  const groupAlive = () => {
    try {
      process.kill(-(child.pid as number), 0)
      return true
    } catch {
      return false
    }
  }
  const standalone: Standalone = {
    voteUrl: `http://localhost:${options.votePort}`,
    resultUrl: `http://localhost:${options.resultPort}`,
    output: () => output,
    interrupt: async () => {
      if (child.pid === undefined || !groupAlive()) return
      process.kill(-child.pid, "SIGINT")
      const deadline = new Promise<"overran">((resolve) => setTimeout(() => resolve("overran"), 10_000).unref())
      if ((await Promise.race([closed, deadline])) === "overran") {
        if (groupAlive()) process.kill(-child.pid, "SIGKILL")
        throw new Error(`npm start did not stop within 10 s of Ctrl-C\n${output}`)
      }
    }
  }
  try {
    // 127.0.0.1 answers whatever HOST is (0.0.0.0 and :: include it).
    await waitForOk(`http://127.0.0.1:${options.votePort}/readyz`, 60_000, () => output)
    await waitForOk(`http://127.0.0.1:${options.resultPort}/readyz`, 10_000, () => output)
  } catch (error) {
    await standalone.interrupt()
    throw error
  }
  return standalone
}
