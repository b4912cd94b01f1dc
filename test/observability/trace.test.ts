/**
 * One vote's trace, from the real vote, worker and result processes, and the
 * picture of it README shows (docs/observability-trace.png).
 *
 * The services export their spans over OTLP/HTTP to a receiver in this test
 * (test/support/OtlpReceiver.ts), as they would to Jaeger in the cluster. One
 * vote is sent with a known trace id; the test waits for its spans and for the
 * spans linked to them: the worker's batch that recorded it and the result
 * service's refresh after that commit. Jaeger cannot run on this machine, so
 * the picture is a stand-in that draws those spans as Jaeger's waterfall does
 * (test/observability/support/TracePage.ts), taken in Chromium.
 * `UPDATE_DOCS=1` writes it to docs/ as well as test-results/observability/.
 */
import { randomBytes } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchChromium } from "../browser/support/Browser.ts"
import { decodePng, distinctColours } from "../browser/support/Png.ts"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/OtlpReceiver.ts"
import { type RunningComponent, repositoryRoot } from "../support/Processes.ts"
import { tracePage, type WaterfallSpan } from "./support/TracePage.ts"

const docsPicture = join(repositoryRoot, "docs/observability-trace.png")
const artefacts = join(repositoryRoot, "test-results", "observability")
const viewport = { width: 1400, height: 360 }

/** The spans one vote leads to, as the services name them (docs/interface.md, "Traces"). */
const expectedNames = [
  "POST /api/vote",
  "VoteQueue.enqueue",
  "VoteWorker.processBatch",
  "VoteStore.record",
  "ResultsFeed.refresh"
]

/** The vote's trace, then the batch that links to it (and its children), then the refresh that links to the commit. */
const oneVote = (spans: ReadonlyArray<ReceivedSpan>, traceId: string): Array<WaterfallSpan> | undefined => {
  const own = spans.filter((s) => s.traceId === traceId)
  const enqueue = own.find((s) => s.name === "VoteQueue.enqueue")
  const batch = spans.find((s) => s.name === "VoteWorker.processBatch" && s.links.some((l) => l.traceId === traceId))
  const batchSpans = batch ? spans.filter((s) => s.traceId === batch.traceId) : []
  const record = batchSpans.find((s) => s.name === "VoteStore.record")
  const refresh = record
    ? spans.find((s) => s.name === "ResultsFeed.refresh" && s.links.some((l) => l.spanId === record.spanId))
    : undefined
  if (!own.some((s) => s.name === "POST /api/vote") || !enqueue || !batch || !record || !refresh) return undefined
  const row = (s: ReceivedSpan, via: string): WaterfallSpan => ({
    service: s.service,
    name: s.name,
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    startNs: BigInt(s.startTimeUnixNano),
    endNs: BigInt(s.endTimeUnixNano),
    via
  })
  const byStart = (a: ReceivedSpan, b: ReceivedSpan) =>
    BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1
  return [
    ...own.sort(byStart).map((s) => row(s, "")),
    ...batchSpans.sort(byStart).map((s) => row(s, s.spanId === batch.spanId ? "linked: records this vote" : "")),
    row(refresh, "linked: after that commit")
  ]
}

describe("one vote's trace from the real services", () => {
  let receiver: OtlpReceiver
  let deployment: Deployment
  const traceId = randomBytes(16).toString("hex")
  let waterfall: Array<WaterfallSpan> = []

  beforeAll(async () => {
    receiver = await startOtlpReceiver()
    deployment = await startDeployment({
      logLevel: "warn",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }
    })
    const [vote] = (await Promise.all([
      deployment.start("vote"),
      deployment.start("worker"),
      deployment.start("result")
    ])) as [RunningComponent, RunningComponent, RunningComponent]
    const response = await fetch(`${vote.url}/api/vote`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`
      },
      body: JSON.stringify({ vote: "a" })
    })
    expect(response.status).toBe(202)
    await receiver.waitFor((spans) => oneVote(spans, traceId) !== undefined)
    waterfall = oneVote(receiver.spans(), traceId) ?? []
  }, 120_000)

  afterAll(async () => {
    await deployment?.tearDown()
    await receiver?.close()
  })

  it("the vote's spans and the spans linked to them came from vote, worker and result", () => {
    expect(waterfall.map((s) => s.name)).toEqual(expect.arrayContaining(expectedNames))
    expect(new Set(waterfall.map((s) => s.service))).toEqual(new Set(["vote", "worker", "result"]))
    for (const s of waterfall) expect(s.endNs, s.name).toBeGreaterThanOrEqual(s.startNs)
  })

  it("takes the trace picture in Chromium", async () => {
    const browser = await launchChromium()
    try {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
      const page = await context.newPage()
      await page.setContent(
        tracePage(
          waterfall,
          "Stand-in for Jaeger's trace view: spans the real vote, worker and result processes exported over OTLP for one vote, and the traces linked to it"
        )
      )
      const text = await page.locator("body").innerText()
      const png = await page.screenshot({ fullPage: true })
      mkdirSync(artefacts, { recursive: true })
      writeFileSync(join(artefacts, "observability-trace.png"), png)
      const image = decodePng(png)
      expect(image.width).toBe(viewport.width)
      expect(image.height).toBeGreaterThanOrEqual(viewport.height)
      expect(distinctColours(image)).toBeGreaterThan(32)
      for (const name of [...expectedNames, traceId]) expect(text).toContain(name)
      if (process.env.UPDATE_DOCS === "1") copyFileSync(join(artefacts, "observability-trace.png"), docsPicture)
    } finally {
      await browser.close()
    }
  })

  it("docs/ holds a real picture of a trace", () => {
    expect(existsSync(docsPicture), "run with UPDATE_DOCS=1 to write it").toBe(true)
    const image = decodePng(readFileSync(docsPicture))
    expect(image.width).toBe(viewport.width)
    expect(distinctColours(image)).toBeGreaterThan(32)
  })
})
