/** How the dashboard cross-check reads PromQL and the code (test/cluster/support/DashboardMetrics.ts). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { dashboardQueries, exportedSeries, metricNames } from "./support/DashboardMetrics.ts"

describe("metric names in PromQL", () => {
  it.each([
    ["sum(rate(votes_accepted_total[1m]))", ["votes_accepted_total"]],
    ["sum by (reason) (rate(votes_rejected_total[1m]))", ["votes_rejected_total"]],
    [
      'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{job="vote", route=~"/|/api/vote"}[1m])))',
      ["http_server_request_duration_seconds_bucket"]
    ],
    [
      "max(vote_queue_pending) / on (job) group_left max(vote_queue_entries) > bool 0",
      ["vote_queue_entries", "vote_queue_pending"]
    ],
    ['{__name__="result_stream_clients", job="result"} offset 5m', ["result_stream_clients"]],
    ["sum without (instance) (rate(a_total[5m:30s])) or vector(0) and b unless c_total", ["a_total", "b", "c_total"]],
    ['label_replace(up, "x", "$1", "job", "(.*)")', ["up"]]
  ])("%s names %j", (expr, names) => {
    expect(metricNames(expr)).toEqual(names)
  })

  it("reads every target of every panel, rows' nested panels included", () => {
    const queries = dashboardQueries({
      panels: [
        { title: "A", targets: [{ expr: "x" }, { expr: "y" }] },
        { title: "Row", panels: [{ title: "B", targets: [{ expr: "z" }] }] }
      ]
    })
    expect(queries).toEqual([
      { panel: "A", expr: "x" },
      { panel: "A", expr: "y" },
      { panel: "B", expr: "z" }
    ])
  })
})

describe("the series the code exports", () => {
  it("reads Metric constructors under packages/ and services/, histograms with their three series, tests left out", () => {
    const root = mkdtempSync(join(tmpdir(), "exported-series-"))
    try {
      for (const dir of ["packages/p/src", "services/s/src", "services/s/test"])
        mkdirSync(join(root, dir), { recursive: true })
      writeFileSync(
        join(root, "packages/p/src/M.ts"),
        'Metric.counter("a_total", {})\nMetric.histogram(\n  "d_seconds", {})'
      )
      writeFileSync(join(root, "services/s/src/N.ts"), 'const g = Metric.gauge("g")')
      writeFileSync(
        join(root, "services/s/src/O.ts"),
        'const name = "h_seconds"\nMetric.histogram(name, {})\nMetric.gauge(unknown)'
      )
      writeFileSync(join(root, "services/s/test/T.ts"), 'Metric.counter("only_in_tests_total")')
      expect([...exportedSeries(root).keys()].sort()).toEqual([
        "a_total",
        "d_seconds_bucket",
        "d_seconds_count",
        "d_seconds_sum",
        "g",
        "h_seconds_bucket",
        "h_seconds_count",
        "h_seconds_sum"
      ])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
