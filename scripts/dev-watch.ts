/**
 * The dev image's process supervisor: runs a Node entry point and restarts it
 * whenever a file under the watched directories changes.
 *
 *   node scripts/dev-watch.ts --watch packages --watch services/vote -- entry/main.mjs
 *
 * Why not `node --watch`: Tilt's live update writes a file with `tar -x`, which
 * replaces it (a new inode). On Linux `node --watch` watches each imported
 * file's inode and never re-arms the path, so only the first sync of a file
 * restarts the process (nodejs/node#51621). A watch on each *directory* sees
 * every replacement, new files (static assets, new modules) included.
 *
 * Plain Node, no dependencies: it stays a few MB beside the service it runs.
 * SIGTERM and SIGINT are passed to the service, and the supervisor exits with
 * the service's own exit code, so graceful shutdown is the service's.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { type Dirent, type FSWatcher, readdirSync, watch } from "node:fs"
import { join, relative, resolve } from "node:path"
import { parseArgs } from "node:util"

const { values, positionals } = parseArgs({
  options: {
    watch: { type: "string", multiple: true, default: [] },
    "debounce-ms": { type: "string", default: "150" }
  },
  allowPositionals: true
})

const log = (level: "INFO" | "WARN" | "ERROR", message: string, annotations: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ message, level, timestamp: new Date().toISOString(), annotations: { component: "dev-watch", ...annotations } })}\n`
  )

if (positionals.length === 0 || values.watch.length === 0) {
  log("ERROR", "usage: dev-watch.ts --watch <dir> [--watch <dir> ...] -- <entry> [args...]")
  process.exit(2)
}

const roots = values.watch.map((dir) => resolve(dir))
const debounceMs = Number(values["debounce-ms"])
const watchers = new Map<string, FSWatcher>()

/** Watches `dir` and every directory below it that is not watched yet (a sync can create new ones). */
const watchTree = (dir: string): void => {
  let entries: Array<Dirent>
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return // removed between the event and the walk
  }
  if (!watchers.has(dir)) {
    const watcher = watch(dir, (_event, name) => changed(name === null ? dir : join(dir, name)))
    watcher.on("error", () => {
      watcher.close()
      watchers.delete(dir)
    })
    watchers.set(dir, watcher)
  }
  for (const entry of entries) {
    if (entry.isDirectory() && entry.name !== "node_modules") watchTree(join(dir, entry.name))
  }
}

let child: ChildProcess | undefined
let stopping = false
let restarting = false
let pending: NodeJS.Timeout | undefined
const changedPaths = new Set<string>()

const start = () => {
  child = spawn(process.execPath, positionals, { stdio: "inherit" })
  child.once("exit", (code, signal) => {
    child = undefined
    if (stopping) process.exit(code ?? (signal === "SIGTERM" || signal === "SIGINT" ? 0 : 1))
    if (!restarting) log("WARN", "the service exited; waiting for a change to restart it", { code, signal })
  })
}

const stopChild = (then: () => void) => {
  const running = child
  if (running === undefined) return then()
  running.once("exit", then)
  running.kill("SIGTERM")
  // The service drains within 10 s of SIGTERM; past that it is stuck.
  setTimeout(() => running.kill("SIGKILL"), 12_000).unref()
}

const restart = () => {
  pending = undefined
  const files = [...changedPaths].map((path) => relative(process.cwd(), path))
  changedPaths.clear()
  for (const root of roots) watchTree(root) // picks up directories the sync created
  log("INFO", "restarting: files changed", { files: files.slice(0, 10), count: files.length })
  restarting = true
  stopChild(() => {
    restarting = false
    start()
  })
}

function changed(path: string) {
  if (stopping) return
  changedPaths.add(path)
  if (pending !== undefined) clearTimeout(pending)
  // One restart for a sync of many files.
  pending = setTimeout(restart, debounceMs)
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    stopping = true
    if (pending !== undefined) clearTimeout(pending)
    for (const watcher of watchers.values()) watcher.close()
    if (child === undefined) process.exit(0)
    child.kill(signal)
  })
}

for (const root of roots) watchTree(root)
log("INFO", "watching for changes", { directories: roots.map((root) => relative(process.cwd(), root) || ".") })
start()
