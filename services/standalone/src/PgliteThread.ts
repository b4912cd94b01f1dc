/**
 * The embedded database's own thread (node:worker_threads). PGlite runs each
 * statement as one synchronous WebAssembly call; on the thread that serves the
 * pages, every commit stopped HTTP for its whole length. Here it answers
 * PgliteClient's requests one at a time, in the order they came, while the
 * main thread goes on serving. Plain TypeScript with no workspace imports:
 * Node loads it on its own, from the sources as from a test.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"
import type { PgliteFailure, PgliteReply, PgliteRequest, PgliteThreadData } from "./PgliteProtocol.ts"

/**
 * PGlite's defaults but PostgreSQL's shared buffers: 16 MB instead of 128.
 * The WebAssembly heap that holds the buffers never shrinks, and a poll's
 * tables do not need them: idle resident on an existing data directory
 * 342 → 231 MB; with the collection below, `npm run bench -- --only=standalone`
 * (fresh data directory) went from 396–722 MB idle and 617–688 at peak to
 * 213 and 480–485, votes a second within the runs' noise (11,392 and 12,143
 * against 13,710 and 10,634, alternating).
 */
const startParams = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"]

/**
 * One memory-reducing collection of this thread's heap once PGlite is up. On a
 * fresh data directory initdb ran in a WebAssembly instance of its own that
 * nothing holds now, and its memory goes back only then. The main thread does
 * the same for its own heap (platform's SettleMemory.ts, which says how `gc`
 * is reached); a workspace import would not resolve here.
 */
const collectInitdbGarbage = () => {
  setFlagsFromString("--expose-gc")
  try {
    const gc = runInNewContext("gc") as NodeJS.GCFunction
    gc({ type: "major", execution: "sync", flavor: "last-resort" })
  } finally {
    setFlagsFromString("--no-expose-gc")
  }
}

const port = parentPort
if (port === null) throw new Error("PgliteThread.ts runs as a worker thread, started by PgliteClient")

/** The message, and PostgreSQL's fields (code, detail, hint, ...) that cloning would drop. */
const failure = (cause: unknown): PgliteFailure => {
  if (!(cause instanceof Error)) return { name: "Error", message: String(cause), fields: {} }
  const fields: Record<string, string> = {}
  for (const [key, value] of Object.entries(cause)) {
    if (typeof value === "string" || typeof value === "number") fields[key] = String(value)
  }
  return { name: cause.name, message: cause.message, fields }
}

const reply = (message: PgliteReply) => port.postMessage(message)

const { dataDir } = workerData as PgliteThreadData
let db: PGlite
try {
  db = await PGlite.create({ dataDir, startParams })
  collectInitdbGarbage()
  reply({ id: 0, ok: true })
} catch (cause) {
  reply({ id: 0, ok: false, failure: failure(cause) })
  port.close()
  throw cause
}

// PGlite queues the statements itself; each answer goes back as soon as it is ready.
port.on("message", (request: PgliteRequest) => {
  if (request.kind === "close") {
    // Once the answer is out nothing holds the thread: it ends.
    db.close()
      .then(
        () => reply({ id: request.id, ok: true }),
        (cause: unknown) => reply({ id: request.id, ok: false, failure: failure(cause) })
      )
      .finally(() => port.close())
    return
  }
  db.query(request.sql, [...request.values], { rowMode: request.rowMode, paramTypes: [...request.types] }).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (cause: unknown) => reply({ id: request.id, ok: false, failure: failure(cause) })
  )
})
