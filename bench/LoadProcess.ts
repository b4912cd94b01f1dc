/**
 * The load generator's own process: runs autocannon with the options given as
 * JSON in argv[2] and prints its result as one JSON line. SIGINT ends the run
 * early and still prints the result (the live-latency background load stops
 * when the probes are done).
 */
import { createRequire } from "node:module"

type Instance = { stop: () => void }
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: unknown) => void) => Instance

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

const options = JSON.parse(process.argv[2] ?? "{}") as Record<string, unknown>
const instance = autocannon(options, (error, result) => {
  if (error) {
    process.stderr.write(`${error.message}\n`)
    process.exit(1)
  }
  // Its own CPU time goes with the result: the process is gone before anyone could read it from /proc.
  const cpu = process.cpuUsage()
  process.stdout.write(`${JSON.stringify({ ...(result as object), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`)
  process.exit(0)
})
process.once("SIGINT", () => instance.stop())
