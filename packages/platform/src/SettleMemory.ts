import { createRequire } from "node:module"
import { Effect } from "effect"

/**
 * Once a component has started, gives back the C heap its start-up used and
 * no longer needs. Compiling the bundle's top level takes ~15 MB of parser
 * memory from malloc; it is freed right after, but glibc keeps it, fragmented
 * by the few allocations that outlive the compile, and only `malloc_trim`
 * returns it. Measured on the bundles, idle resident MB (vote / worker /
 * result): 94 / 98 / 100 without, 81 / 82 / 84 with, ~10 ms once, no cost
 * per request afterwards (81.1 against 80.6 µs of CPU a vote).
 *
 * Not done here, as measured: a memory-reducing V8 collection once started
 * would give back ~9 MB more, nearly all of it the ~8 MB young generation
 * start-up grew, and the vote path then took twice the CPU per request.
 *
 * Skipped where it is not available (no `node:ffi`, no glibc).
 */
export const settleMemory = Effect.sync(() => {
  trimMallocHeap()
})

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
