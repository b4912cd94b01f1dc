import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url))

export type ComponentName = "vote" | "worker" | "result"

const entryPoints: Record<ComponentName, string> = {
  vote: "services/vote/src/main.ts",
  worker: "services/worker/src/main.ts",
  result: "services/result/src/main.ts"
}

export interface RunningComponent {
  readonly name: ComponentName
  readonly port: number
  readonly url: string
  readonly child: ChildProcess
  /** Everything the process wrote to stdout and stderr so far. */
  readonly output: () => string
  /** Sends a signal and waits for the exit; resolves with the exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export interface StartOptions {
  readonly port: number
  readonly env: Record<string, string>
  /**
   * `npm` runs `npm run start:<name>` as the contract documents; `node` runs the entry point directly so
   * signals reach it; `bundle` runs the production bundle in that directory (`npm run bundle`), as the image does.
   */
  readonly via?: "npm" | "node" | { readonly bundle: string }
  /** Wait for `/readyz` (default) or only `/livez`. */
  readonly waitFor?: "ready" | "live" | "nothing"
  readonly timeoutMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls a URL until it answers 200, or throws with the process output after the timeout. */
export const waitForOk = async (url: string, timeoutMs: number, describe: () => string) => {
  const deadline = Date.now() + timeoutMs
  let last = "no answer"
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) })
      if (response.status === 200) return
      last = `HTTP ${response.status}: ${await response.text()}`
    } catch (error) {
      last = String(error)
    }
    await sleep(100)
  }
  throw new Error(`${url} not OK after ${timeoutMs} ms (${last})\n${describe()}`)
}

/**
 * A child process whose stdout and stderr are collected, for error messages and
 * log scans. `detached` puts it in a process group of its own, so a signal can
 * reach everything it started (see `signalGroup`).
 */
export const spawnCollecting = (
  command: string,
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  options: { readonly detached?: boolean } = {}
) => {
  const child = spawn(command, args, {
    cwd: repositoryRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false
  })
  let output = ""
  const collect = (chunk: Buffer) => {
    output += chunk
  }
  child.stdout.on("data", collect)
  child.stderr.on("data", collect)
  return { child, output: () => output, exited: once(child, "exit").then(([code]) => code as number | null) }
}

/**
 * Signals a whole process group, as a terminal's Ctrl-C or a container runtime
 * does, and resolves once every process in it is gone. npm does not wait for
 * its script: it exits at once on SIGTERM and may leave the service running,
 * so `npm run` children are stopped through their group.
 */
const signalGroup = async (pid: number, signal: NodeJS.Signals) => {
  const alive = () => {
    try {
      process.kill(-pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (alive()) process.kill(-pid, signal)
  while (alive()) await sleep(50)
}

/** Starts one component as its own process, as `npm run start:<name>` would. */
export const startComponent = async (name: ComponentName, options: StartOptions): Promise<RunningComponent> => {
  const env = { ...process.env, LOG_LEVEL: "warn", ...options.env, PORT: String(options.port) }
  const { child, output, exited } =
    options.via === "npm"
      ? spawnCollecting("npm", ["run", "--silent", `start:${name}`], env, { detached: true })
      : typeof options.via === "object"
        ? spawnCollecting(process.execPath, [`${options.via.bundle}/${name}/entry/main.mjs`], env)
        : spawnCollecting(process.execPath, ["--conditions=source", entryPoints[name]], env)
  const url = `http://127.0.0.1:${options.port}`
  const running: RunningComponent = {
    name,
    port: options.port,
    url,
    child,
    output,
    stop: async (signal = "SIGTERM") => {
      if (options.via === "npm" && child.pid !== undefined) {
        await signalGroup(child.pid, signal)
      } else if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
      }
      return exited
    }
  }
  const waitFor = options.waitFor ?? "ready"
  if (waitFor !== "nothing") {
    try {
      await waitForOk(`${url}/${waitFor === "ready" ? "readyz" : "livez"}`, options.timeoutMs ?? 20_000, output)
    } catch (error) {
      // Nobody holds a handle to a component that never came up: stop it here, or it outlives the run.
      await running.stop("SIGKILL")
      throw error
    }
  }
  return running
}

/** Runs `npm run migrate` against a database and resolves when it exits 0. */
export const migrate = async (env: Record<string, string>) => {
  const run = spawnCollecting("npm", ["run", "--silent", "migrate"], { ...process.env, ...env })
  const code = await run.exited
  if (code !== 0) throw new Error(`npm run migrate exited ${code}:\n${run.output()}`)
}

/** A port the OS says is free now. */
export const freePort = async (): Promise<number> => {
  const { createServer } = await import("node:net")
  const server = createServer()
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const address = server.address()
  server.close()
  if (address === null || typeof address === "string") throw new Error("no port")
  return address.port
}
