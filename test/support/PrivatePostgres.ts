import { execFile, spawn } from "node:child_process"
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { userInfo } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { freePort } from "./Processes.ts"

const run = promisify(execFile)
const binaries = "/usr/lib/postgresql/15/bin"

/**
 * A PostgreSQL server of the suite's own: its own port and a temporary data
 * directory, so a test can stop it and start it again. TCP connections need
 * the password (scram), so a component that leaks it would leak a real
 * secret. PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user.
 */
export interface PrivatePostgres {
  readonly port: number
  readonly password: string
  /** A URL with the password, for the test's own connections. */
  readonly adminUrl: string
  readonly start: () => Promise<void>
  /** `fast` disconnects every client and shuts down cleanly; `immediate` is a crash. */
  readonly stop: (mode?: "fast" | "immediate") => Promise<void>
  /** Runs SQL with psql and returns the rows, one string a row, columns separated by `|`. */
  readonly query: (sql: string) => Promise<Array<string>>
  /** Stops the server (if running) and deletes its data. */
  readonly remove: () => Promise<void>
}

const asRoot = userInfo().uid === 0
const asServerUser = (command: string, args: Array<string>): [string, Array<string>] =>
  asRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]

export const startPrivatePostgres = async (password: string): Promise<PrivatePostgres> => {
  const port = await freePort()
  const root = mkdtempSync("/tmp/voting-faults-pg-")
  const data = join(root, "data")
  const passwordFile = join(root, "pwfile")
  const logFile = join(root, "server.log")
  writeFileSync(passwordFile, password)
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"])
    const { stdout: gid } = await run("id", ["-g", "postgres"])
    chownSync(root, Number(stdout.trim()), Number(gid.trim()))
    chownSync(passwordFile, Number(stdout.trim()), Number(gid.trim()))
  }
  chmodSync(root, 0o700)
  const [initdb, initArgs] = asServerUser(`${binaries}/initdb`, [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    `--pwfile=${passwordFile}`,
    "--no-sync"
  ])
  await run(initdb, initArgs)
  rmSync(passwordFile)

  const pgCtl = (args: Array<string>) => {
    const [command, fullArgs] = asServerUser(`${binaries}/pg_ctl`, args)
    return run(command, fullArgs)
  }
  let running = false
  const server: PrivatePostgres = {
    port,
    password,
    adminUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    start: async () => {
      await pgCtl([
        "start",
        "-w",
        "-D",
        data,
        "-l",
        logFile,
        "-o",
        // Durability across a crash of PostgreSQL itself is not what these tests are about; the
        // shared cores are. Clean stops still write everything.
        `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`
      ])
      running = true
    },
    stop: async (mode = "fast") => {
      if (!running) return
      await pgCtl(["stop", "-w", "-D", data, "-m", mode])
      running = false
    },
    query: async (sql) => {
      const { stdout } = await run(
        "psql",
        ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-c", sql],
        {
          env: { ...process.env, PGPASSWORD: password },
          maxBuffer: 64 * 1024 * 1024
        }
      )
      return stdout.split("\n").filter((line) => line.length > 0)
    },
    remove: async () => {
      await server.stop("immediate").catch(() => {})
      rmSync(root, { recursive: true, force: true })
    }
  }
  await server.start()
  return server
}

/**
 * Holds `LOCK TABLE votes` in an open transaction, so any batch the worker
 * takes now stops at its INSERT with its entries pending: a worker killed then
 * is killed mid-batch. Resolves once the lock is held; `release` rolls back.
 */
export const lockVotesTable = async (server: PrivatePostgres) => {
  const child = spawn("psql", ["-X", "-At", "-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres"], {
    env: { ...process.env, PGPASSWORD: server.password },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (chunk) => {
    output += chunk
  })
  child.stdin.write("BEGIN;\nLOCK TABLE votes IN EXCLUSIVE MODE;\nSELECT 'locked';\n")
  const deadline = Date.now() + 10_000
  while (!output.includes("locked")) {
    if (Date.now() > deadline) throw new Error(`could not lock the votes table: ${output}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    release: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.stdin.end("ROLLBACK;\n\\q\n")
      await exited
    }
  }
}
