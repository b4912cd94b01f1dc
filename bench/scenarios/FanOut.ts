import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { cpuSeconds, cpuSplitSeconds } from "../support/Cpu.ts"
import { fileLimitOf, raiseFileLimit, withFileLimit } from "../support/FileLimit.ts"
import { residentMb } from "../support/Memory.ts"
import { type BenchProcess, repositoryRoot } from "../support/Services.ts"
import { percentile, type Spread, sleep, spread } from "../support/Stats.ts"
import { castTimedVote } from "../support/TimedVote.ts"

export interface FanOutSettings {
  /** Open event streams, spread evenly over the client processes. */
  readonly clients: number
  readonly processes: number
  /** Votes cast one at a time with every stream open; each gives one p50/p99 over the streams. */
  readonly votes: number
  /** Streams each client process opens at once. */
  readonly wave: number
}

export interface FanOutResult {
  readonly clients: number
  readonly processes: number
  readonly connected: number
  readonly openSeconds: number
  /** The fresh result service before any stream, and with every stream open. */
  readonly idleResidentMb: number
  readonly resultResidentMb: number
  readonly resultResidentPeakMb: number
  readonly perStreamKiB: number
  /** From a vote's 202 to each stream's event that counts it, over the streams; one value a vote. */
  readonly p50Ms: Spread
  readonly p99Ms: Spread
  readonly maxMs: Spread
  /** CPU the result service spent from the vote until the last stream had it (10 ms ticks), and its kernel part. */
  readonly resultCpuMs: Spread
  readonly resultSystemCpuMs: Spread
  /** CPU the client processes spent meanwhile, all together: they share the cores with the service. */
  readonly clientsCpuMs: Spread
  /** Streams that never saw a vote within the timeout, summed over the votes. */
  readonly missed: number
}

type FromClients =
  | { readonly type: "open"; readonly streams: number }
  | { readonly type: "watching" }
  | { readonly type: "arrivals"; readonly at: ReadonlyArray<number>; readonly missing: number }

interface ClientProcess {
  readonly child: ChildProcess
  readonly next: <T extends FromClients["type"]>(type: T) => Promise<Extract<FromClients, { type: T }>>
  readonly output: () => string
}

const clientScript = new URL("../FanOutClients.ts", import.meta.url).pathname

/** One client process holding `streams` streams, with the open-file limit raised for it alone. */
const startClients = (url: string, streams: number, wave: number): ClientProcess => {
  const { command, args } = withFileLimit(process.execPath, [
    "--conditions=source",
    clientScript,
    JSON.stringify({ url, streams, wave })
  ])
  const child = spawn(command, args, { cwd: repositoryRoot, stdio: ["ignore", "pipe", "pipe", "ipc"] })
  let output = ""
  const collect = (chunk: Buffer) => {
    output += chunk
  }
  child.stdout?.on("data", collect)
  child.stderr?.on("data", collect)
  const inbox: Array<FromClients> = []
  let waiting: ((message: FromClients) => void) | undefined
  child.on("message", (message: FromClients) => {
    if (waiting === undefined) inbox.push(message)
    else waiting(message)
  })
  const exited = once(child, "exit")
  const next = <T extends FromClients["type"]>(type: T) =>
    new Promise<Extract<FromClients, { type: T }>>((resolve, reject) => {
      const take = (message: FromClients) => {
        waiting = undefined
        if (message.type === type) resolve(message as Extract<FromClients, { type: T }>)
        else reject(new Error(`a fan-out client process sent ${message.type}, not ${type}`))
      }
      const queued = inbox.shift()
      if (queued !== undefined) take(queued)
      else waiting = take
      exited.then(([code]) => reject(new Error(`a fan-out client process exited ${code}:\n${output}`)))
    })
  return { child, next, output: () => output }
}

const stopClients = async (clients: ReadonlyArray<ClientProcess>) => {
  await Promise.allSettled(
    clients.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, "exit")
      if (child.connected) child.send({ type: "close" })
      else child.kill("SIGTERM")
      await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))])
    })
  )
}

/**
 * One result service with thousands of open event streams: its resident
 * memory with all of them open, then, vote by vote, how long each stream
 * takes to get the event that counts the vote (from the vote's 202). The
 * streams live in several client processes, so no one event loop reading
 * them is the limit; every arrival is stamped where it is read, on the
 * machine's clock. `result` is a fresh service with its stream caps off and
 * MAX_CONNECTIONS above `clients`.
 */
export const fanOut = async (
  vote: BenchProcess,
  result: BenchProcess,
  settings: FanOutSettings,
  log: (line: string) => void
): Promise<FanOutResult> => {
  if (!raiseFileLimit(result.pid)) log("  (could not set the result service's open-file limit; it keeps its own)")
  await sleep(1_000)
  const idleResidentMb = residentMb(result.pid) ?? 0
  const url = `${result.url}/api/results/stream`
  const share = Math.ceil(settings.clients / settings.processes)
  const opening = performance.now()
  const clients = Array.from({ length: settings.processes }, (_, i) =>
    startClients(url, Math.min(share, settings.clients - i * share), settings.wave)
  )
  try {
    const opened = await Promise.all(clients.map((client) => client.next("open")))
    const connected = opened.reduce((sum, message) => sum + message.streams, 0)
    const openSeconds = (performance.now() - opening) / 1000
    await sleep(2_000)
    const resultResidentMb = residentMb(result.pid) ?? 0
    const perStreamKiB = ((resultResidentMb - idleResidentMb) * 1024) / connected
    log(
      `  ${connected} streams open in ${openSeconds.toFixed(1)} s over ${settings.processes} client processes ` +
        `(open-file limit: result ${fileLimitOf(result.pid)}, clients ${fileLimitOf(clients[0]!.child.pid!)})`
    )
    log(
      `  result service resident: ${idleResidentMb.toFixed(0)} MB before, ${resultResidentMb.toFixed(0)} MB with ` +
        `every stream open (${perStreamKiB.toFixed(1)} KiB a stream)`
    )

    const p50: Array<number> = []
    const p99: Array<number> = []
    const max: Array<number> = []
    const cpu: Array<number> = []
    const systemCpu: Array<number> = []
    const clientsCpu: Array<number> = []
    const clientsCpuNow = () => clients.reduce((sum, client) => sum + (cpuSeconds(client.child.pid!) ?? 0), 0)
    let peakMb = resultResidentMb
    let missed = 0
    const totalNow = async () => {
      const response = await fetch(`${result.url}/api/results`)
      return ((await response.json()) as { total: number }).total
    }
    for (let round = 1; round <= settings.votes; round++) {
      const above = await totalNow()
      for (const client of clients) client.child.send({ type: "watch", above, timeoutMs: 15_000 })
      await Promise.all(clients.map((client) => client.next("watching")))
      const arrivals = clients.map((client) => client.next("arrivals"))
      const cpuBefore = cpuSplitSeconds(result.pid) ?? { user: 0, system: 0 }
      const clientsCpuBefore = clientsCpuNow()
      const sampler = setInterval(() => {
        peakMb = Math.max(peakMb, residentMb(result.pid) ?? 0)
      }, 50)
      const answeredAt = performance.timeOrigin + (await castTimedVote(vote.url, "a"))
      const reports = await Promise.all(arrivals)
      clearInterval(sampler)
      const cpuAfter = cpuSplitSeconds(result.pid) ?? cpuBefore
      const cpuMs = (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) * 1000
      const systemCpuMs = (cpuAfter.system - cpuBefore.system) * 1000
      const clientsCpuMs = (clientsCpuNow() - clientsCpuBefore) * 1000
      const latencies = reports.flatMap((report) => report.at.map((at) => Math.max(0, at - answeredAt)))
      const missing = reports.reduce((sum, report) => sum + report.missing, 0)
      missed += missing
      p50.push(percentile(latencies, 50))
      p99.push(percentile(latencies, 99))
      max.push(Math.max(...latencies))
      cpu.push(cpuMs)
      systemCpu.push(systemCpuMs)
      clientsCpu.push(clientsCpuMs)
      log(
        `  vote ${round}: reached ${latencies.length} streams${missing > 0 ? ` (${missing} never)` : ""}: ` +
          `p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, ` +
          `max ${Math.max(...latencies).toFixed(0)} ms after its 202; CPU meanwhile: result service ${cpuMs.toFixed(0)} ms ` +
          `(${systemCpuMs.toFixed(0)} ms in the kernel), client processes ${clientsCpuMs.toFixed(0)} ms`
      )
      await sleep(1_000)
    }
    return {
      clients: settings.clients,
      processes: settings.processes,
      connected,
      openSeconds: Math.round(openSeconds * 10) / 10,
      idleResidentMb: Math.round(idleResidentMb),
      resultResidentMb: Math.round(resultResidentMb),
      resultResidentPeakMb: Math.round(peakMb),
      perStreamKiB: Math.round(perStreamKiB * 10) / 10,
      p50Ms: spread(p50, 1),
      p99Ms: spread(p99, 1),
      maxMs: spread(max, 1),
      resultCpuMs: spread(cpu, 0),
      resultSystemCpuMs: spread(systemCpu, 0),
      clientsCpuMs: spread(clientsCpu, 0),
      missed
    }
  } finally {
    await stopClients(clients)
  }
}
