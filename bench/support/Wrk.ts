import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type LoadOptions, type LoadResult, lastJsonLine, type RunningLoad } from "./LoadGenerator.ts"

/** Whether wrk (Debian's package `wrk`) is on PATH. */
export const wrkAvailable = (): boolean => spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined

/**
 * The script wrk runs: the request as given, no per-response Lua (wrk then
 * skips parsing headers and bodies for it), and at the end one JSON line with
 * the counts, the latency percentiles and wrk's own CPU time, read from
 * /proc/self/stat (utime + stime, clock ticks, whole process).
 */
const script = (options: LoadOptions) => `
wrk.method = ${JSON.stringify(options.method ?? "GET")}
${options.body === undefined ? "" : `wrk.body = ${JSON.stringify(options.body)}`}
${Object.entries(options.headers ?? {})
  .map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`)
  .join("\n")}

function done(summary, latency, requests)
  local stat = io.open("/proc/self/stat"):read("*a")
  local fields = {}
  for field in stat:sub(stat:find(")", 1, true) + 2):gmatch("%S+") do fields[#fields + 1] = field end
  local e = summary.errors
  io.write(string.format(
    '\\n{"duration":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50":%d,"p99":%d,"max":%d,"mean":%f,"ticks":%d}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    tonumber(fields[12]) + tonumber(fields[13])))
end
`

interface WrkJson {
  /** µs */
  readonly duration: number
  readonly requests: number
  readonly connect: number
  readonly read: number
  readonly write: number
  /** Answers with a status over 399. */
  readonly status: number
  readonly timeout: number
  /** Latencies in µs. */
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly mean: number
  readonly ticks: number
}

const ticksPerSecond = 100

/**
 * Starts wrk (C, epoll) with one thread: a closed loop over keep-alive
 * connections, each sending its next request when the answer to the last one
 * has arrived. The same result shape as autocannon's. wrk has no fixed-rate
 * mode, so a load with `rate` needs autocannon.
 */
export const startWrk = (options: LoadOptions): RunningLoad => {
  if (options.rate !== undefined) throw new Error("wrk has no fixed-rate mode: use autocannon for a paced load")
  const dir = mkdtempSync(join(tmpdir(), "voting-bench-wrk-"))
  const scriptPath = join(dir, "load.lua")
  writeFileSync(scriptPath, script(options))
  const child = spawn(
    "wrk",
    [
      "-t1",
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      "--timeout",
      "10s",
      "-s",
      scriptPath,
      options.url
    ],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  const result = lastJsonLine<WrkJson>(child, "wrk")
    .finally(() => rmSync(dir, { recursive: true, force: true }))
    .then((json): LoadResult => {
      const seconds = json.duration / 1e6
      const errors = json.connect + json.read + json.write + json.status + json.timeout
      const ms = (us: number) => Math.round(us / 100) / 10
      return {
        requestsPerSecond: json.requests / seconds,
        completed: json.requests,
        // One request at most in flight per connection when the run stops: wrk does not count what it sent.
        sent: json.requests + options.connections,
        ok: json.requests - json.status,
        errors,
        statusCodes: json.status > 0 ? ["2xx", "4xx/5xx"] : ["2xx"],
        latencyMs: { p50: ms(json.p50), p99: ms(json.p99), max: ms(json.max), mean: ms(json.mean) },
        durationSeconds: seconds,
        cores: Math.round((json.ticks / ticksPerSecond / seconds) * 100) / 100
      }
    })
  return { pid: child.pid!, result, stop: () => child.kill("SIGINT") }
}
