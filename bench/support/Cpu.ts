import { readdirSync, readFileSync } from "node:fs"

const ticksPerSecond = 100

/** CPU seconds a process has used so far in user space and in the kernel, from /proc (Linux). */
export const cpuSplitSeconds = (pid: number): { readonly user: number; readonly system: number } | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { user: Number(fields[11]) / ticksPerSecond, system: Number(fields[12]) / ticksPerSecond }
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export const cpuSeconds = (pid: number): number | undefined => {
  const split = cpuSplitSeconds(pid)
  return split === undefined ? undefined : split.user + split.system
}

/**
 * Every PostgreSQL process on this machine (the server's backends and its
 * background writers), when the server runs here: its CPU is counted as one.
 */
export const postgresPids = (): Array<number> =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres"
      } catch {
        return false
      }
    })
    .map(Number)

const cpuSecondsOf = (pids: ReadonlyArray<number>) => pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0)

/** Share of one core each process used between start and `read` (1 = a whole core). */
export type CpuShares = Record<string, number>

/**
 * Starts counting the CPU time of some processes. `read` gives each one's
 * share of a core since the start, and the whole machine's (every process,
 * ours or not) as `machine`, so a run taken while other work ran says so.
 */
export const cpuMeter = (pids: Record<string, number | ReadonlyArray<number> | undefined>) => {
  const known = Object.entries(pids)
    .filter((entry): entry is [string, number | ReadonlyArray<number>] => entry[1] !== undefined)
    .map(([name, pid]): [string, ReadonlyArray<number>] => [name, typeof pid === "number" ? [pid] : pid])
  const before = new Map(known.map(([name, group]) => [name, cpuSecondsOf(group)]))
  const machineBefore = machineBusySeconds()
  const started = performance.now()
  return {
    read: (): CpuShares => {
      const seconds = (performance.now() - started) / 1000
      const shares: CpuShares = {}
      for (const [name, group] of known) {
        const used = cpuSecondsOf(group) - (before.get(name) ?? 0)
        shares[name] = Math.round((used / seconds) * 100) / 100
      }
      shares.machine = Math.round(((machineBusySeconds() - machineBefore) / seconds) * 100) / 100
      return shares
    }
  }
}

/** Busy CPU seconds of the whole machine, summed over its cores, from /proc/stat. */
const machineBusySeconds = (): number => {
  try {
    const [line] = readFileSync("/proc/stat", "utf8").split("\n")
    const [, user, nice, system, , , irq, softirq, steal] = (line ?? "").trim().split(/\s+/).map(Number)
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond
  } catch {
    return 0
  }
}

/** The median of each process's share (or any per-process figure) over several runs. */
export const medianShares = (runs: ReadonlyArray<CpuShares>, digits = 2): CpuShares => {
  const names = [...new Set(runs.flatMap((run) => Object.keys(run)))]
  return Object.fromEntries(
    names.map((name) => {
      const values = runs.map((run) => run[name] ?? 0).sort((a, b) => a - b)
      const middle = Math.floor(values.length / 2)
      const median = values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2
      return [name, Math.round(median * 10 ** digits) / 10 ** digits]
    })
  )
}

export const describeShares = (shares: CpuShares, digits = 2) =>
  Object.entries(shares)
    .map(([name, share]) => `${name} ${share.toFixed(digits)}`)
    .join(", ")
