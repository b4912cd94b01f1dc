import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { Redis } from "ioredis"
import { freePort } from "./Processes.ts"

/**
 * A redis-server of the suite's own, on its own port and data directory, with
 * append-only persistence on as the cluster runs it (`appendfsync always`: a
 * vote the vote service acknowledged is on disk). A test can stop it (cleanly
 * or with SIGKILL) and start it again on the same port and data.
 */
export interface PrivateRedis {
  readonly port: number
  readonly url: string
  readonly start: () => Promise<void>
  /** SIGTERM: Redis writes what it holds and exits; SIGKILL: a crash. */
  readonly stop: (signal?: "SIGTERM" | "SIGKILL") => Promise<void>
  /** A client for the test's own reads and injections. */
  readonly client: () => Redis
  readonly remove: () => Promise<void>
}

export const startPrivateRedis = async (
  options: { readonly args?: ReadonlyArray<string> } = {}
): Promise<PrivateRedis> => {
  const port = await freePort()
  const dir = mkdtempSync("/tmp/voting-faults-redis-")
  let child: ChildProcess | undefined
  let output = ""
  const clients: Array<Redis> = []

  const ping = async () => {
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null
    })
    probe.on("error", () => {})
    try {
      await probe.connect()
      return (await probe.ping()) === "PONG"
    } catch {
      return false
    } finally {
      probe.disconnect()
    }
  }

  const server: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--appendonly",
          "yes",
          "--appendfsync",
          "always",
          "--save",
          "",
          "--daemonize",
          "no",
          ...(options.args ?? [])
        ],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      child.stdout?.on("data", (chunk) => {
        output += chunk
      })
      child.stderr?.on("data", (chunk) => {
        output += chunk
      })
      const deadline = Date.now() + 10_000
      // Loading the append-only file can take a moment; PING answers LOADING until it is done.
      while (!(await ping())) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start:\n${output}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    stop: async (signal = "SIGTERM") => {
      const current = child
      if (current === undefined || current.exitCode !== null || current.signalCode !== null) return
      const exited = once(current, "exit")
      current.kill(signal)
      await exited
    },
    client: () => {
      const client = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 })
      client.on("error", () => {})
      clients.push(client)
      return client
    },
    remove: async () => {
      for (const client of clients) client.disconnect()
      await server.stop("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    }
  }
  await server.start()
  return server
}
