import { type ChildProcessByStdio, spawn } from "node:child_process"
import type { Readable } from "node:stream"

const loadProcess = new URL("../LoadProcess.ts", import.meta.url).pathname

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly durationSeconds: number
  readonly method?: "GET" | "POST"
  readonly body?: string
  readonly headers?: Record<string, string>
  /** Bodies each connection sends in turn, in place of `body` (say, votes for two options alternately). */
  readonly bodies?: ReadonlyArray<string>
  /** Requests per second over all connections; unset means as fast as the server answers. */
  readonly rate?: number
}

export interface LoadResult {
  readonly requestsPerSecond: number
  readonly completed: number
  readonly sent: number
  readonly ok: number
  /** Non-2xx answers, connection errors and timeouts. */
  readonly errors: number
  readonly statusCodes: ReadonlyArray<string>
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number }
  readonly durationSeconds: number
  /** Cores the load generator itself used over the run. */
  readonly cores: number
}

interface AutocannonJson {
  readonly cpuSeconds: number
  readonly duration: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly "2xx": number
  readonly statusCodeStats?: Record<string, unknown>
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number; readonly mean: number }
  readonly requests: { readonly total: number; readonly sent: number }
}

export interface RunningLoad {
  readonly pid: number
  readonly result: Promise<LoadResult>
  /** Ends the run now; `result` then resolves with what was measured so far. */
  readonly stop: () => void
}

/**
 * Starts autocannon in a process of its own (it must not share an event loop
 * with anything it measures), over keep-alive connections.
 */
/**
 * What a load process reports: its last line of output, one JSON object.
 * Rejects with what it printed when it exits otherwise.
 */
export const lastJsonLine = <A>(child: ChildProcessByStdio<null, Readable, Readable>, name: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? ""
      if (code !== 0 || !line.startsWith("{")) reject(new Error(`${name} exited ${code}: ${stderr || stdout}`))
      else resolve(JSON.parse(line) as A)
    })
  })

export const startLoad = (options: LoadOptions): RunningLoad => {
  const config = {
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    timeout: 10,
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.bodies === undefined ? {} : { requests: options.bodies.map((body) => ({ body })) }),
    ...(options.rate === undefined ? {} : { overallRate: options.rate })
  }
  const child = spawn(process.execPath, [loadProcess, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] })
  const result = lastJsonLine<AutocannonJson>(child, "the load generator").then((json) => ({
    requestsPerSecond: json.requests.total / json.duration,
    completed: json.requests.total,
    sent: json.requests.sent,
    ok: json["2xx"],
    errors: json.errors + json.timeouts + json.non2xx,
    statusCodes: Object.keys(json.statusCodeStats ?? {}),
    latencyMs: {
      p50: json.latency.p50,
      p99: json.latency.p99,
      max: json.latency.max,
      mean: json.latency.mean
    },
    durationSeconds: json.duration,
    cores: Math.round((json.cpuSeconds / json.duration) * 100) / 100
  }))
  return { pid: child.pid!, result, stop: () => child.kill("SIGINT") }
}

/** Runs a load for its whole duration. */
export const runLoad = (options: LoadOptions): Promise<LoadResult> => startLoad(options).result
