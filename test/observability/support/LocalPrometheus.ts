/**
 * A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, scraping the
 * services started by a test every second. The same program the cluster runs
 * (there v3, here Debian's v2.42: PromQL's functions and operators the
 * dashboard uses are the same), so the dashboard's queries are evaluated for real.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { freePort, spawnCollecting, waitForOk } from "../../support/Processes.ts"

export const prometheusBinary = process.env.PROMETHEUS_PATH ?? "/usr/bin/prometheus"

export interface ScrapeJob {
  readonly job: string
  /** host:port serving /metrics. */
  readonly target: string
}

export interface Series {
  readonly metric: Record<string, string>
  /** [unix seconds, value] pairs. */
  readonly values: ReadonlyArray<readonly [number, string]>
}

export interface LocalPrometheus {
  readonly url: string
  readonly query: (expr: string) => Promise<ReadonlyArray<{ metric: Record<string, string>; value: [number, string] }>>
  readonly queryRange: (expr: string, start: number, end: number, stepSeconds: number) => Promise<ReadonlyArray<Series>>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

type Answer<A> = { status: "success"; data: { result: A } } | { status: "error"; error: string }

export const startPrometheus = async (jobs: ReadonlyArray<ScrapeJob>): Promise<LocalPrometheus> => {
  if (!existsSync(prometheusBinary))
    throw new Error(`no Prometheus at ${prometheusBinary}: apt-get install -y prometheus (or set PROMETHEUS_PATH)`)
  const dir = mkdtempSync("/tmp/voting-prometheus-")
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 900ms",
    "scrape_configs:",
    ...jobs.flatMap(({ job, target }) => [
      `  - job_name: ${job}`,
      "    static_configs:",
      `      - targets: ["${target}"]`
    ])
  ].join("\n")
  writeFileSync(join(dir, "prometheus.yml"), `${config}\n`)
  const port = await freePort()
  const run = spawnCollecting(
    prometheusBinary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn"
    ],
    process.env
  )
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM")
    await run.exited
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForOk(`${url}/-/ready`, 30_000, run.output)
  } catch (error) {
    await stop()
    throw error
  }
  const get = async <A>(path: string, params: Record<string, string>): Promise<A> => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`)
    const answer = (await response.json()) as Answer<A>
    if (answer.status !== "success") throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${answer.error}`)
    return answer.data.result
  }
  return {
    url,
    query: (expr) => get("/api/v1/query", { query: expr }),
    queryRange: (expr, start, end, step) =>
      get("/api/v1/query_range", { query: expr, start: String(start), end: String(end), step: String(step) }),
    output: run.output,
    stop
  }
}
