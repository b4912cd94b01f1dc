import { readFileSync } from "node:fs"

/** A process's resident memory in MB, from /proc (Linux). Undefined once it is gone. */
export const residentMb = (pid: number): number | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/**
 * Memory only this process holds (private pages, from smaps_rollup): the
 * resident figure less the Node binary's pages, which every Node process on
 * the machine shares.
 */
export const privateMb = (pid: number): number | undefined => {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
    const clean = /^Private_Clean:\s+(\d+) kB$/m.exec(rollup)
    const dirty = /^Private_Dirty:\s+(\d+) kB$/m.exec(rollup)
    return clean && dirty ? (Number(clean[1]) + Number(dirty[1])) / 1024 : undefined
  } catch {
    return undefined
  }
}

/**
 * Samples the resident memory of some processes while `work` runs and
 * resolves with its result and each process's peak.
 */
export const peakResidentWhile = async <A>(
  pids: Record<string, number>,
  work: () => Promise<A>,
  everyMs = 200
): Promise<{ readonly result: A; readonly peakMb: Record<string, number> }> => {
  const peakMb: Record<string, number> = {}
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const mb = residentMb(pid)
      if (mb !== undefined) peakMb[name] = Math.max(peakMb[name] ?? 0, mb)
    }
  }
  sample()
  const timer = setInterval(sample, everyMs)
  try {
    const result = await work()
    sample()
    return { result, peakMb }
  } finally {
    clearInterval(timer)
  }
}
