/**
 * The dashboard's queries against the real services, in a real Prometheus, and
 * the picture of it README shows (docs/observability-dashboard.png).
 *
 * The three services run as processes against a Redis and a PostgreSQL of
 * their own; Debian's Prometheus scrapes them every second while voters cast
 * votes (some refused), results pages hold streams open and the worker drains
 * the queue. Every query of every panel of manifests/observability/dashboards/
 * voting.json must return series: a panel on a metric the services do not
 * export, or a query Prometheus refuses, fails here. Grafana cannot run on this
 * machine, so the picture is a stand-in that draws those panels from those
 * answers (test/observability/support/DashboardPage.ts), taken in Chromium.
 * `UPDATE_DOCS=1` writes it to docs/ as well as test-results/observability/.
 */
import { execFileSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchChromium } from "../browser/support/Browser.ts"
import { decodePng, distinctColours } from "../browser/support/Png.ts"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { LoadClient } from "../support/LoadClient.ts"
import { type RunningComponent, repositoryRoot } from "../support/Processes.ts"
import { type Dashboard, dashboardPage, type PanelData } from "./support/DashboardPage.ts"
import { type LocalPrometheus, type Series, startPrometheus } from "./support/LocalPrometheus.ts"

const dashboardFile = join(repositoryRoot, "manifests/observability/dashboards/voting.json")
const docsPicture = join(repositoryRoot, "docs/observability-dashboard.png")
const artefacts = join(repositoryRoot, "test-results", "observability")
const viewport = { width: 1400, height: 1000 }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `check` holds, failing with `describe()` after the deadline. */
const until = async (check: () => Promise<boolean>, timeoutMs: number, describe: () => string) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(250)
  }
  throw new Error(`timed out: ${describe()}`)
}

/** What a picture of the dashboard must be: the viewport's width, not blank, every panel's title on the page. */
const expectPicture = (png: Buffer, text: string, dashboard: Dashboard, where: string) => {
  const image = decodePng(png)
  expect(image.width, where).toBe(viewport.width)
  expect(image.height, where).toBeGreaterThanOrEqual(viewport.height)
  expect(distinctColours(image), where).toBeGreaterThan(32)
  for (const panel of dashboard.panels) expect(text, where).toContain(panel.title)
}

describe("the observability dashboard against the real services", () => {
  const dashboard = JSON.parse(readFileSync(dashboardFile, "utf8")) as Dashboard
  let deployment: Deployment
  let prometheus: LocalPrometheus
  const streams: Array<AbortController> = []
  let loadStart = 0
  let data: PanelData

  beforeAll(async () => {
    // One address casts every vote here: the per-client limit would refuse most of them.
    deployment = await startDeployment({ env: { VOTE_RATE_LIMIT: "1000000" }, logLevel: "warn" })
    const [vote, result] = (await Promise.all([
      deployment.start("vote"),
      deployment.start("result"),
      deployment.start("worker")
    ])) as [RunningComponent, RunningComponent, RunningComponent]
    // No MANAGEMENT_PORT here: each serves /metrics on its own port.
    prometheus = await startPrometheus(
      deployment.components().map((c) => ({ job: c.name, target: `127.0.0.1:${c.port}` }))
    )
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController()
      streams.push(controller)
      const response = await fetch(`${result.url}/api/results/stream`, { signal: controller.signal })
      // Read (and drop) the events, so the stream stays a live client.
      void response.body?.pipeTo(new WritableStream()).catch(() => undefined)
    }
    loadStart = Math.floor(Date.now() / 1000)
    const voters = new LoadClient(() => vote.url, ["a", "b", "c"], 12, 60)
    voters.start()
    for (let i = 0; i < 5; i++)
      await fetch(`${vote.url}/api/vote`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ vote: "not-an-option" })
      })
    // Long enough for 1-minute rates to have several points, with the queue busy.
    await sleep(12_000)
    await voters.stop()
    expect(voters.counts.answered).toBeGreaterThan(50)
    // Every accepted vote recorded, and scraped after that.
    await until(
      async () => {
        const [accepted] = await prometheus.query("sum(votes_accepted_total)")
        const [recorded] = await prometheus.query("sum(worker_votes_recorded_total)")
        return accepted !== undefined && recorded !== undefined && Number(recorded.value[1]) >= voters.counts.answered
      },
      30_000,
      () => prometheus.output()
    )
    await sleep(2_000)
    const end = Math.ceil(Date.now() / 1000)
    const byPanel = new Map<number, Map<string, ReadonlyArray<Series>>>()
    for (const panel of dashboard.panels) {
      const byRef = new Map<string, ReadonlyArray<Series>>()
      for (const target of panel.targets)
        byRef.set(target.refId, await prometheus.queryRange(target.expr, loadStart - 5, end, 1))
      byPanel.set(panel.id, byRef)
    }
    data = byPanel
  }, 180_000)

  afterAll(async () => {
    for (const controller of streams) controller.abort()
    await prometheus?.stop()
    await deployment?.tearDown()
  })

  it("the cluster's Prometheus config is valid (promtool)", () => {
    const out = execFileSync("promtool", ["check", "config", "manifests/observability/config/prometheus.yml"], {
      cwd: repositoryRoot,
      encoding: "utf8"
    })
    expect(out).toContain("SUCCESS")
  })

  it.each(dashboard.panels.flatMap((p) => p.targets.map((t) => [p.title, t.refId, t.expr, p.id] as const)))(
    "panel %s, query %s answers with series: %s",
    (_title, refId, _expr, id) => {
      const series = data.get(id)?.get(refId) ?? []
      expect(series.length).toBeGreaterThan(0)
      expect(series.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v))))).toBe(true)
    }
  )

  it("the panels show the votes: accepted and recorded rates above zero, streams open", () => {
    const last = (id: number, refId: string) =>
      Math.max(...(data.get(id)?.get(refId) ?? []).flatMap((s) => s.values.map(([, v]) => Number(v))))
    const panel = (title: string) => dashboard.panels.find((p) => p.title === title) as Dashboard["panels"][number]
    expect(last(panel("Votes accepted and refused per second").id, "A")).toBeGreaterThan(0)
    expect(last(panel("Drain rate: votes recorded per second").id, "A")).toBeGreaterThan(0)
    expect(last(panel("Open result streams and pushes").id, "A")).toBeGreaterThanOrEqual(3)
  })

  it("takes the dashboard picture in Chromium", async () => {
    const browser = await launchChromium()
    try {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
      const page = await context.newPage()
      await page.setContent(
        dashboardPage(
          dashboard,
          data,
          "Stand-in for Grafana: the provisioned panels, their queries answered by a real Prometheus scraping the real services"
        )
      )
      const text = await page.locator("body").innerText()
      const png = await page.screenshot({ fullPage: true })
      mkdirSync(artefacts, { recursive: true })
      writeFileSync(join(artefacts, "observability-dashboard.png"), png)
      expectPicture(png, text, dashboard, "test-results/observability/observability-dashboard.png")
      if (process.env.UPDATE_DOCS === "1") copyFileSync(join(artefacts, "observability-dashboard.png"), docsPicture)
    } finally {
      await browser.close()
    }
  })

  it("docs/ holds a real picture of the dashboard", () => {
    expect(existsSync(docsPicture), "run with UPDATE_DOCS=1 to write it").toBe(true)
    const image = decodePng(readFileSync(docsPicture))
    expect(image.width).toBe(viewport.width)
    expect(distinctColours(image)).toBeGreaterThan(32)
  })
})
