import { createRequire } from "node:module"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"

/**
 * Once a component has started, gives back what its start-up used and no
 * longer needs, in two steps:
 *
 * - V8's heap: start-up grows the young generation to ~8 MB (module code
 *   makes objects that survive) and leaves garbage and run-once bytecode in
 *   the old one; V8 keeps those pages until a memory-reducing collection.
 *   Under load the young generation grows back as before (to ~50 MB at 64
 *   connections), so the vote's CPU per request is unchanged: 49 and 68
 *   against 59 and 62 µs without, runs alternating.
 * - The C heap: compiling the bundle's top level takes ~15 MB of parser
 *   memory from malloc; it is freed right after, but glibc keeps it,
 *   fragmented by the few allocations that outlive the compile, and only
 *   `malloc_trim` returns it.
 *
 * Idle resident MB of the bundles, vote / worker / result: 94 / 98 / 100
 * with neither step, 81 / 82 / 84 with the trim; with both (and bundles
 * that no longer load undici, scripts/bundle.ts) 69 / 71 / 71.
 * Each step is skipped where it is not available (no `node:ffi`, no glibc).
 */
export const settleMemory = Effect.sync(() => {
  collectStartupGarbage()
  trimMallocHeap()
})

/**
 * One full, memory-reducing V8 collection (what V8 does under memory
 * pressure), ~35 ms once. V8 hands its `gc` function only to contexts made
 * while `--expose-gc` is set, so the flag is set for the one context made
 * here and cleared again: no `gc` appears on this process's global object.
 */
export const collectStartupGarbage = (): void => {
  setFlagsFromString("--expose-gc")
  try {
    const gc = runInNewContext("gc") as NodeJS.GCFunction
    gc({ type: "major", execution: "sync", flavor: "last-resort" })
  } finally {
    setFlagsFromString("--no-expose-gc")
  }
}

const require = createRequire(import.meta.url)

type Ffi = typeof import("node:ffi")

/** `node:ffi`, without the one experimental-feature warning its loading writes to stderr. */
const loadFfi = (): Ffi | undefined => {
  const emitWarning = process.emitWarning
  process.emitWarning = () => undefined
  try {
    return require("node:ffi") as Ffi
  } catch {
    return undefined
  } finally {
    process.emitWarning = emitWarning
  }
}

/** Returns whether glibc was asked to trim; false where there is no `node:ffi` or no glibc. */
export const trimMallocHeap = (): boolean => {
  const ffi = loadFfi()
  if (ffi === undefined) return false
  let libc: ReturnType<typeof openLibc>
  try {
    libc = openLibc(ffi)
  } catch {
    // Not glibc (musl, another OS): nothing to trim this way.
    return false
  }
  try {
    libc.functions.malloc_trim(0n)
    return true
  } finally {
    libc.lib.close()
  }
}

const openLibc = (ffi: Ffi) => ffi.dlopen("libc.so.6", { malloc_trim: { arguments: ["u64"], return: "i32" } })
