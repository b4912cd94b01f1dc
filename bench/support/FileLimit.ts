import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"

/**
 * Open files the fan-out scenario's processes ask for: 10,000 streams take as
 * many sockets in the result service and across the client processes. Raised
 * for those processes only (prlimit, from util-linux), never for the machine
 * or the bench itself.
 */
export const wantedFileLimit = 65_536

const prlimit = ["/usr/bin/prlimit", "/bin/prlimit"].find((path) => existsSync(path))

const readProc = (path: string) => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return ""
  }
}

/** A process's limit on open files, soft or hard, from /proc (Linux). */
export const fileLimitOf = (pid: number | "self", which: "soft" | "hard" = "soft"): number => {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readProc(`/proc/${pid}/limits`))
  const value = match?.[which === "soft" ? 1 : 2]
  return value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value ?? 0)
}

/** Raising a hard limit needs CAP_SYS_RESOURCE (capability 24), which a container's root may lack. */
const maySetAnyLimit = () => {
  const effective = /^CapEff:\s+([0-9a-f]+)$/m.exec(readProc("/proc/self/status"))?.[1]
  return effective !== undefined && (BigInt(`0x${effective}`) & (1n << 24n)) !== 0n
}

/**
 * The open-file limit the bench can give a process it starts: the wanted one,
 * or, without the privilege to raise a hard limit, the bench's own hard limit.
 */
export const benchFileLimit = (): number =>
  maySetAnyLimit() ? wantedFileLimit : Math.min(wantedFileLimit, fileLimitOf("self", "hard"))

/**
 * Sets the open-file limit of a running process (the result service, which
 * the bench starts as every other service) to `benchFileLimit`. False when
 * prlimit is missing or refuses: the process keeps its own limit, which Node
 * has already raised to its hard limit.
 */
export const raiseFileLimit = (pid: number): boolean => {
  const limit = benchFileLimit()
  if (prlimit === undefined || !Number.isFinite(limit)) return false
  try {
    execFileSync(prlimit, [`--pid=${pid}`, `--nofile=${limit}:${limit}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

/** `command args` run with the open-file limit at `benchFileLimit` when prlimit is there; else as they are. */
export const withFileLimit = (
  command: string,
  args: ReadonlyArray<string>
): { readonly command: string; readonly args: ReadonlyArray<string> } => {
  const limit = benchFileLimit()
  return prlimit !== undefined && Number.isFinite(limit)
    ? { command: prlimit, args: [`--nofile=${limit}:${limit}`, "--", command, ...args] }
    : { command, args }
}
