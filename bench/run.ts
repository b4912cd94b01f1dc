/**
 * `npm run bench`: the services as real processes against real Redis and
 * PostgreSQL, under load from wrk (the vote figures, when installed) and autocannon in processes of their own. Prints a
 * table and writes bench/results/latest.json.
 *
 *   npm run bench                     every figure, 3 runs each (about 6 minutes)
 *   npm run bench -- --quick          1 short run each, for a smoke check
 *   npm run bench -- --only=vote,drain,latency,streams,fanout,results,standalone,tracing
 *   npm run bench -- --profile        services write CPU profiles to bench/results/profiles/
 *   npm run bench -- --node-options="--max-semi-space-size=2"   Node flags for the services only
 *   npm run bench -- --from-source    run the services from their TypeScript sources, not the production bundles
 *
 * BENCH_RUNS and BENCH_DURATION (seconds per load run) override the defaults.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { bundledServices, bundleService } from "../scripts/bundle.ts"
import { type FanOutResult, fanOut } from "./scenarios/FanOut.ts"
import { type LiveLatencyResult, liveLatency } from "./scenarios/LiveLatency.ts"
import { type ResultApiResult, resultApi, storeVotes, waitForTotal } from "./scenarios/ResultApi.ts"
import { type StandaloneResult, standaloneVotes } from "./scenarios/Standalone.ts"
import { type StreamClientsResult, streamClients } from "./scenarios/StreamClients.ts"
import { type TracingCostResult, tracingCost } from "./scenarios/TracingCost.ts"
import { type VoteThroughputResult, voteThroughput } from "./scenarios/VoteThroughput.ts"
import { type WorkerDrainResult, workerDrain } from "./scenarios/WorkerDrain.ts"
import { createBenchEnv } from "./support/BenchEnv.ts"
import { describeShares } from "./support/Cpu.ts"
import { privateMb, residentMb } from "./support/Memory.ts"
import { type Row, renderTable } from "./support/Report.ts"
import { type BenchProcess, runFromBundles, startBareServer, startService } from "./support/Services.ts"
import { sleep } from "./support/Stats.ts"

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    profile: { type: "boolean", default: false },
    "node-options": { type: "string", multiple: true, default: [] },
    "from-source": { type: "boolean", default: false }
  }
})
const quick = flags.quick
const profile = flags.profile
const fromSource = flags["from-source"]
const scenarios = ["vote", "drain", "latency", "streams", "fanout", "results", "standalone", "tracing"] as const
type Scenario = (typeof scenarios)[number]
const selected = new Set<Scenario>(flags.only === undefined ? scenarios : (flags.only.split(",") as Array<Scenario>))
for (const name of selected) {
  if (!scenarios.includes(name)) throw new Error(`unknown scenario ${name}; choose from ${scenarios.join(", ")}`)
}

const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3))
const durationSeconds = Number(process.env.BENCH_DURATION ?? (quick ? 4 : 10))
const warmupSeconds = quick ? 2 : 3
const settings = {
  runs,
  vote: { runs, connections: 64, durationSeconds, warmupSeconds },
  drain: { runs, votes: 100_000, workerCounts: [1, 2] },
  latency: { runs, probesPerRun: quick ? 40 : 100, backgroundRate: 1_000 },
  streams: { clients: 1_000 },
  fanout: { clients: 10_000, processes: 4, votes: quick ? 3 : 5, wave: 100 },
  results: { runs, connections: 64, durationSeconds, warmupSeconds, small: 1_000, large: 1_000_000 },
  standalone: { runs, connections: 64, durationSeconds, warmupSeconds }
}

const startedAt = Date.now()
const log = (line: string) => process.stdout.write(`${line}\n`)
const section = (title: string) => log(`\n[${((Date.now() - startedAt) / 1000).toFixed(0)} s] ${title}`)

const machine = {
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? "unknown",
  memoryGb: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  os: `${process.platform} ${release()}`,
  loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100)
}

const profileDir = new URL("./results/profiles/", import.meta.url).pathname
// Node flags for the services only (say, V8 heap sizes), to measure what they change.
const profileOptions = profile ? [`--cpu-prof --cpu-prof-dir=${profileDir}`] : []
const nodeOptions = [...profileOptions, ...flags["node-options"]].join(" ")
const serviceExtraEnv: Record<string, string> = nodeOptions === "" ? {} : { NODE_OPTIONS: nodeOptions }

interface Figures {
  idleResidentMb: Record<string, number>
  /** The part of the resident memory no other process shares (the Node binary's pages are shared). */
  idlePrivateMb: Record<string, number>
  vote?: VoteThroughputResult
  drain?: WorkerDrainResult
  latency?: LiveLatencyResult
  streams?: StreamClientsResult
  fanout?: FanOutResult
  results?: ResultApiResult
  standalone?: StandaloneResult
  tracing?: TracingCostResult
}

const main = async () => {
  log(
    `voting app bench: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}; ` +
      `load average ${machine.loadAverageAtStart.join(" ")} at start`
  )
  log("Figures taken while other work shares the machine are noisy; the load average above and below says how busy.")
  if (nodeOptions !== "") log(`The services run with NODE_OPTIONS=${nodeOptions}`)
  if (profile) {
    mkdirSync(profileDir, { recursive: true })
    log(`CPU profiles of the services go to ${profileDir}`)
  }
  const figures: Figures = { idleResidentMb: {}, idlePrivateMb: {} }
  const processes: Array<BenchProcess> = []
  const stop = async (process: BenchProcess) => {
    processes.splice(processes.indexOf(process), 1)
    await process.stop()
    if (profile) log(`  (${process.name} was pid ${process.pid})`)
  }

  section("setting up: own databases and Redis key prefix, migrations")
  // The services run as their images run them (the production bundles) unless asked otherwise.
  const bundles = fromSource ? undefined : mkdtempSync(join(tmpdir(), "voting-bench-bundles-"))
  if (bundles !== undefined) {
    for (const name of bundledServices) await bundleService(name, bundles)
    runFromBundles(bundles)
    log(`  services run from their production bundles (npm run bundle), in ${bundles}`)
  } else {
    log("  services run from their TypeScript sources (--from-source)")
  }
  const env = await createBenchEnv()
  log(`  databases ${env.main.name}, ${env.small.name}; key prefix ${env.prefix}`)
  const service = async (...startArgs: Parameters<typeof startService>) => {
    const [component, serviceEnv, label] = startArgs
    const started = await startService(component, { ...serviceEnv, ...serviceExtraEnv }, label)
    processes.push(started)
    return started
  }
  const onSignal = () => {
    log("interrupted: stopping the services and removing the bench's data")
    Promise.allSettled(processes.map((p) => p.stop()))
      .then(() => env.dispose())
      .finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)

  try {
    if (selected.has("standalone")) {
      section(`npm start (embedded store, in-process queue): votes at ${settings.standalone.connections} connections`)
      figures.standalone = await standaloneVotes({ ...settings.standalone, env: serviceExtraEnv }, log, (p) =>
        processes.push(p)
      )
    }
    if (selected.has("results")) await storeVotes(env.small, settings.results.small)
    section("starting the services; resident memory at idle")
    const vote = await service("vote", env.serviceEnv(env.main))
    const idleWorker = await service("worker", env.serviceEnv(env.main))
    const result = await service("result", env.serviceEnv(env.main))
    const bare = await startBareServer()
    processes.push(bare)
    await sleep(3_000)
    for (const p of [vote, idleWorker, result, bare]) {
      figures.idleResidentMb[p.name] = Math.round(residentMb(p.pid) ?? 0)
      figures.idlePrivateMb[p.name] = Math.round(privateMb(p.pid) ?? 0)
    }
    log(
      `  resident (private): ${Object.entries(figures.idleResidentMb)
        .map(([name, mb]) => `${name} ${mb} MB (${figures.idlePrivateMb[name]} MB)`)
        .join(", ")}`
    )
    // Nothing may consume the queue while the vote throughput is measured.
    await stop(idleWorker)

    if (selected.has("vote")) {
      section(`vote throughput: ${settings.vote.connections} connections, ${durationSeconds} s a run, ${runs} run(s)`)
      figures.vote = await voteThroughput(env, vote, bare, settings.vote, log)
    }
    if (selected.has("tracing")) {
      section("tracing cost: vote throughput with tracing off, on at ratio 1.0 and 0.01; a drain of traced votes")
      figures.tracing = await tracingCost(env, bare, { ...settings.vote, drainVotes: settings.drain.votes }, log)
    }
    await stop(bare)

    let workers: Array<BenchProcess> = []
    if (selected.has("drain")) {
      section(`worker drain: ${settings.drain.votes.toLocaleString("en-US")} votes pre-loaded, 1 and 2 workers`)
      const drained = await workerDrain(env, settings.drain, log)
      figures.drain = drained.result
      workers = drained.workers
      processes.push(...workers)
      for (const extra of workers.slice(1)) await stop(extra)
      workers = workers.slice(0, 1)
    }

    if (selected.has("latency") || selected.has("streams") || selected.has("fanout")) {
      if (workers.length === 0) workers = [await service("worker", env.serviceEnv(env.main))]
    }
    if (selected.has("latency")) {
      section(
        `live latency: vote 202 to its results event, ${settings.latency.probesPerRun} probes a run under ` +
          `${settings.latency.backgroundRate} votes/s`
      )
      figures.latency = await liveLatency(vote, result, settings.latency, log)
    }
    if (selected.has("streams")) {
      section(`${settings.streams.clients} open event-stream clients`)
      figures.streams = await streamClients(vote, result, settings.streams.clients, log)
    }
    if (selected.has("fanout")) {
      const { clients, processes } = settings.fanout
      section(`fan-out: ${clients.toLocaleString("en-US")} open event streams from ${processes} client processes`)
      // A fresh result service, its listener's connection cap (MAX_CONNECTIONS) above the streams it holds.
      const fanOutResult = await service(
        "result",
        { ...env.serviceEnv(env.main), MAX_CONNECTIONS: String(clients + 1_024) },
        "result-fanout"
      )
      figures.fanout = await fanOut(vote, fanOutResult, settings.fanout, log)
      await stop(fanOutResult)
    }

    if (selected.has("results")) {
      section(`result API: storing ${settings.results.large.toLocaleString("en-US")} votes`)
      const storing = performance.now()
      await storeVotes(env.main, settings.results.large)
      log(`  stored in ${((performance.now() - storing) / 1000).toFixed(1)} s`)
      // Two fresh result services, alike but for the votes stored: the main one has served event streams by now.
      const small = await service("result", env.serviceEnv(env.small), "result-1k")
      const large = await service("result", env.serviceEnv(env.main), "result-1m")
      await waitForTotal(small, settings.results.small)
      await waitForTotal(large, settings.results.large)
      section(`result API throughput: ${settings.results.connections} connections, ${durationSeconds} s a run`)
      figures.results = await resultApi(
        { service: small, votes: settings.results.small },
        { service: large, votes: settings.results.large },
        settings.results,
        log
      )
    }
  } finally {
    section("cleaning up")
    await Promise.allSettled([...processes].map((p) => stop(p)))
    await env.dispose()
    if (bundles !== undefined) rmSync(bundles, { recursive: true, force: true })
  }

  const report = buildReport(figures)
  log(`\n${report.table}`)
  const path = new URL("./results/latest.json", import.meta.url).pathname
  writeFileSync(path, `${JSON.stringify(report.json, null, 2)}\n`)
  log(`\nwritten to ${path}; took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`)
}

const buildReport = (figures: Figures) => {
  const { vote, drain, latency, streams, fanout, results, standalone, tracing } = figures
  const one = drain?.byWorkers.find((entry) => entry.workers === 1)
  const two = drain?.byWorkers.find((entry) => entry.workers === 2)
  const rows: Array<Row> = []
  if (vote) {
    rows.push(
      { figure: "bare node:http", unit: "req/s", value: vote.bare.requestsPerSecond },
      { figure: "vote POST /api/vote", unit: "req/s", value: vote.vote.requestsPerSecond },
      {
        figure: "vote / bare",
        unit: "ratio",
        value: vote.ratio,
        floor: { text: ">= 0.50", met: vote.ratio.median >= 0.5 }
      },
      { figure: "vote latency p50", unit: "ms", value: vote.vote.latencyP50Ms },
      {
        figure: `vote latency p99 (${vote.connections} conns)`,
        unit: "ms",
        value: vote.vote.latencyP99Ms,
        floor: { text: "<= 20", met: vote.vote.latencyP99Ms.median <= 20 }
      },
      {
        figure: "vote errors",
        unit: "count",
        value: vote.vote.errors,
        floor: { text: "0", met: vote.vote.errors === 0 }
      },
      {
        figure: "every 2xx vote on the queue",
        unit: "",
        value: vote.vote.allOnQueue ? "yes" : "NO",
        floor: { text: "yes", met: vote.vote.allOnQueue }
      }
    )
  }
  if (one) {
    rows.push({
      figure: "worker drain, 1 worker",
      unit: "votes/s",
      value: one.votesPerSecond,
      floor: { text: ">= 50,000", met: one.votesPerSecond.median >= 50_000 }
    })
  }
  if (one && drain) {
    const workerCores = one.cores["worker-1"] ?? 0
    rows.push({
      figure: "worker CPU per vote, 1 worker",
      unit: "µs",
      value: Math.round(((workerCores * one.seconds.median) / drain.votes) * 1e7) / 10
    })
  }
  if (two) rows.push({ figure: "worker drain, 2 workers", unit: "votes/s", value: two.votesPerSecond })
  if (one && two) {
    const ratio = two.votesPerSecond.median / one.votesPerSecond.median
    rows.push({
      figure: "2 workers / 1 worker",
      unit: "ratio",
      value: ratio,
      floor: { text: ">= 1.3", met: ratio >= 1.3 }
    })
    // One worker already keeps most of the machine busy (worker, Redis and PostgreSQL share its cores):
    // at the same CPU a vote, two can drain at most this much faster.
    const busy = one.cores.machine
    if (busy !== undefined && busy > 0) {
      rows.push({
        figure: "  the most the cores allow: cores / busy at 1",
        unit: "ratio",
        value: Math.round((machine.cores / busy) * 100) / 100
      })
    }
  }
  if (drain) {
    const consistent = drain.byWorkers.every((entry) => entry.consistent)
    rows.push({
      figure: "drain: rows = votes = tallies",
      unit: "",
      value: consistent ? "yes" : "NO",
      floor: { text: "yes", met: consistent }
    })
  }
  if (latency) {
    rows.push(
      { figure: "vote to result event p50", unit: "ms", value: latency.p50Ms },
      {
        figure: "vote to result event p99",
        unit: "ms",
        value: latency.p99Ms,
        floor: { text: "<= 100", met: latency.p99Ms.median <= 100 }
      }
    )
  }
  if (results) {
    rows.push(
      {
        figure: `GET /api/results, ${results.small.storedVotes.toLocaleString("en-US")} votes`,
        unit: "req/s",
        value: results.small.requestsPerSecond
      },
      {
        figure: `GET /api/results, ${results.large.storedVotes.toLocaleString("en-US")} votes`,
        unit: "req/s",
        value: results.large.requestsPerSecond
      },
      {
        figure: "results API 1M / 1k",
        unit: "ratio",
        value: results.ratio,
        floor: { text: ">= 0.8", met: results.ratio.median >= 0.8 }
      },
      { figure: "results API p99, 1M votes", unit: "ms", value: results.large.latencyP99Ms }
    )
  }
  if (standalone) {
    rows.push(
      {
        figure: "npm start POST /api/vote",
        unit: "req/s",
        value: standalone.requestsPerSecond,
        floor: { text: ">= 3,000", met: standalone.requestsPerSecond.median >= 3_000 }
      },
      { figure: "npm start vote latency p50", unit: "ms", value: standalone.latencyP50Ms },
      { figure: "npm start CPU per vote", unit: "µs", value: standalone.cpuMicrosPerVote },
      {
        figure: `npm start vote latency p99 (${standalone.connections} conns)`,
        unit: "ms",
        value: standalone.latencyP99Ms,
        floor: { text: "<= 50", met: standalone.latencyP99Ms.median <= 50 }
      },
      {
        figure: "npm start vote errors",
        unit: "count",
        value: standalone.errors,
        floor: { text: "0", met: standalone.errors === 0 }
      },
      {
        figure: "npm start: load end to all counted",
        unit: "s",
        value: standalone.countedSeconds,
        floor: { text: "<= 5", met: standalone.allCounted && standalone.countedSeconds.max <= 5 }
      },
      {
        figure: "npm start resident, idle / load peak",
        unit: "MB",
        value: `${standalone.residentIdleMb} / ${standalone.residentPeakMb}`
      }
    )
  }
  if (tracing) {
    const off = tracing.modes.find((mode) => mode.mode === "off")
    for (const mode of tracing.modes) {
      const change = off === undefined ? 0 : mode.ratio.median / off.ratio.median - 1
      rows.push(
        { figure: `vote / bare, tracing ${mode.mode}`, unit: "ratio", value: mode.ratio },
        { figure: `vote CPU a vote, tracing ${mode.mode}`, unit: "µs", value: mode.cpuMicrosPerVote },
        ...(mode === off
          ? []
          : [{ figure: `vote / bare, tracing ${mode.mode} vs off`, unit: "%", value: Math.round(change * 1000) / 10 }])
      )
    }
    for (const run of tracing.drain) {
      rows.push(
        { figure: `drain of traced votes, tracing ${run.mode}`, unit: "votes/s", value: run.votesPerSecond },
        { figure: `worker CPU a traced vote, tracing ${run.mode}`, unit: "µs", value: run.cpuMicrosPerVote }
      )
    }
  }
  for (const [name, mb] of Object.entries(figures.idleResidentMb)) {
    const isService = name !== "bare"
    rows.push({
      figure: `${name} resident, idle`,
      unit: "MB",
      value: mb,
      ...(isService ? { floor: { text: "<= 80", met: mb <= 80 } } : {})
    })
  }
  for (const [name, mb] of Object.entries(figures.idlePrivateMb)) {
    rows.push({ figure: `${name} private (unshared), idle`, unit: "MB", value: mb })
  }
  if (vote) rows.push({ figure: "vote resident, under load (peak)", unit: "MB", value: vote.voteResidentPeakMb })
  if (drain) rows.push({ figure: "worker resident, draining (peak)", unit: "MB", value: drain.workerResidentPeakMb })
  if (results)
    rows.push({ figure: "result resident, API load (peak)", unit: "MB", value: results.resultResidentPeakMb })
  if (streams) {
    rows.push(
      { figure: `result resident, ${streams.clients} streams`, unit: "MB", value: streams.resultResidentMb },
      { figure: `one vote to all ${streams.clients} streams`, unit: "ms", value: streams.fanOutMs }
    )
  }
  if (fanout) {
    const streamsText = fanout.clients.toLocaleString("en-US")
    rows.push(
      { figure: `one vote to ${streamsText} streams, p50`, unit: "ms", value: fanout.p50Ms },
      {
        figure: `one vote to ${streamsText} streams, p99`,
        unit: "ms",
        value: fanout.p99Ms,
        floor: { text: "<= 1,000", met: fanout.p99Ms.median <= 1_000 && fanout.missed === 0 }
      },
      { figure: `result CPU for one vote, ${streamsText} streams`, unit: "ms", value: fanout.resultCpuMs },
      { figure: "  of which in the kernel", unit: "ms", value: fanout.resultSystemCpuMs },
      { figure: "client processes' CPU meanwhile", unit: "ms", value: fanout.clientsCpuMs },
      {
        figure: `result resident, ${streamsText} streams`,
        unit: "MB",
        value: fanout.resultResidentMb,
        floor: { text: "<= 400", met: fanout.resultResidentMb <= 400 && fanout.resultResidentPeakMb <= 400 }
      },
      { figure: `result resident, ${streamsText} streams (peak)`, unit: "MB", value: fanout.resultResidentPeakMb },
      { figure: "result memory a stream", unit: "KiB", value: fanout.perStreamKiB }
    )
  }
  const loadAverageAtEnd = loadavg().map((value) => Math.round(value * 100) / 100)
  // What limited each figure: the cores each process used while it was measured (medians over the runs).
  const cores = [
    vote && `  bare node:http run: ${describeShares(vote.cores.bare)}`,
    vote && `  vote run:           ${describeShares(vote.cores.vote)}`,
    vote &&
      `  CPU µs per request: bare run ${describeShares(vote.cpuMicrosPerRequest.bare, 1)}; ` +
        `vote run ${describeShares(vote.cpuMicrosPerRequest.vote, 1)} (load = ${vote.loadGenerator})`,
    one && `  drain, 1 worker:    ${describeShares(one.cores)}`,
    two && `  drain, 2 workers:   ${describeShares(two.cores)}`,
    results && `  result API, 1M:     ${describeShares(results.large.cores)}`,
    standalone && `  npm start:          ${describeShares(standalone.cores)} (run from its sources)`
  ].filter((line) => typeof line === "string")
  const table = [
    renderTable(`voting app bench, median of ${runs} run(s) (min and max beside it)`, rows),
    ...(cores.length > 0
      ? ["cores used while measuring (1 = one whole core; machine = every process):", ...cores]
      : []),
    `machine: ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.os}` +
      `; services ran from ${fromSource ? "their TypeScript sources" : "their production bundles"}` +
      (nodeOptions === "" ? "" : ` with NODE_OPTIONS=${nodeOptions}`),
    `load average: ${machine.loadAverageAtStart.join(" ")} at start, ${loadAverageAtEnd.join(" ")} at end. ` +
      "The load generator, Redis, PostgreSQL and the services share these cores; figures taken while other work runs are noisy."
  ].join("\n")
  const json = {
    takenAt: new Date(startedAt).toISOString(),
    machine: { ...machine, loadAverageAtEnd },
    servicesRunFrom: fromSource ? "sources" : "production bundles",
    settings,
    quick,
    serviceNodeOptions: nodeOptions,
    figures,
    floors: Object.fromEntries(
      rows
        .filter((row) => row.floor !== undefined)
        .map((row) => [row.figure, { floor: row.floor!.text, met: row.floor!.met }])
    )
  }
  return { table, json }
}

await main()
