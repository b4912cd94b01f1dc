/**
 * The dashboard stand-in: the provisioned dashboard JSON drawn as a page, each
 * panel where its gridPos puts it (24 columns), each query's series as a line
 * named by its legendFormat. What Grafana would draw from the same queries,
 * without Grafana: no axes' ticks, tooltips or units beyond the panel's last values.
 */
import type { Series } from "./LocalPrometheus.ts"

export interface DashboardPanel {
  readonly id: number
  readonly title: string
  readonly description?: string
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } }
  readonly targets: ReadonlyArray<{ readonly refId: string; readonly expr: string; readonly legendFormat?: string }>
}

export interface Dashboard {
  readonly title: string
  readonly panels: ReadonlyArray<DashboardPanel>
}

/** Series by panel id, then by refId. */
export type PanelData = ReadonlyMap<number, ReadonlyMap<string, ReadonlyArray<Series>>>

const colours = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a"]
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string)

/** Grafana's `{{label}}` substitution in a legend. */
const legend = (format: string | undefined, metric: Record<string, string>) =>
  (format ?? JSON.stringify(metric)).replace(/\{\{\s*(\w+)\s*\}\}/g, (_, label: string) => metric[label] ?? "")

const formatValue = (value: number, unit: string | undefined) => {
  if (!Number.isFinite(value)) return "–"
  if (unit === "s") return value < 1 ? `${(value * 1000).toFixed(value < 0.01 ? 2 : 1)} ms` : `${value.toFixed(2)} s`
  if (unit === "reqps") return `${value.toFixed(value < 10 ? 2 : 0)}/s`
  return value.toFixed(value % 1 === 0 ? 0 : 2)
}

const chart = (
  lines: ReadonlyArray<{ name: string; points: ReadonlyArray<readonly [number, number]> }>,
  unit: string | undefined
) => {
  const all = lines.flatMap((l) => l.points).filter(([, v]) => Number.isFinite(v))
  if (all.length === 0) return `<div class="empty">No data</div>`
  const t0 = Math.min(...all.map(([t]) => t))
  const t1 = Math.max(...all.map(([t]) => t), t0 + 1)
  const highest = Math.max(...all.map(([, v]) => v), 0)
  const top = highest * 1.1 || 1
  const [width, height] = [600, 160]
  const x = (t: number) => ((t - t0) / (t1 - t0)) * width
  const y = (v: number) => height - (v / top) * height
  const grid = [0.25, 0.5, 0.75].map(
    (f) => `<line x1="0" x2="${width}" y1="${height * f}" y2="${height * f}" class="grid"/>`
  )
  const paths = lines.map((l, i) => {
    const d = l.points
      .filter(([, v]) => Number.isFinite(v))
      .map(([t, v], j) => `${j === 0 ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" ")
    return `<path d="${d}" stroke="${colours[i % colours.length]}" fill="none" stroke-width="2"/>`
  })
  // The scale: the highest value drawn, where the top grid line would be.
  return `<div class="scale">max ${escapeHtml(formatValue(highest, unit))}</div><svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none">${grid.join("")}${paths.join("")}</svg>`
}

export const dashboardPage = (dashboard: Dashboard, data: PanelData, caption: string): string => {
  const rowHeight = 34
  const panels = dashboard.panels.map((panel) => {
    const lines = panel.targets.flatMap((target) =>
      (data.get(panel.id)?.get(target.refId) ?? []).map((series) => ({
        name: legend(target.legendFormat, series.metric),
        points: series.values.map(([t, v]) => [t, Number(v)] as const)
      }))
    )
    const unit = panel.fieldConfig?.defaults?.unit
    const legendItems = lines.map(
      (l, i) =>
        `<li><span class="swatch" style="background:${colours[i % colours.length]}"></span>${escapeHtml(l.name)} <b>${escapeHtml(
          formatValue(l.points.at(-1)?.[1] ?? Number.NaN, unit)
        )}</b></li>`
    )
    const { x, y, w, h } = panel.gridPos
    return `<section class="panel" style="grid-column:${x + 1} / span ${w};grid-row:${y + 1} / span ${h}">
<h2 title="${escapeHtml(panel.description ?? "")}">${escapeHtml(panel.title)}</h2>
<div class="chart">${chart(lines, unit)}</div>
<ul class="legend">${legendItems.join("")}</ul>
<code>${panel.targets.map((t) => escapeHtml(t.expr)).join("<br>")}</code>
</section>`
  })
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(dashboard.title)}</title><style>
body{margin:0;background:#111217;color:#ccccdc;font:13px/1.4 system-ui,sans-serif}
header{display:flex;justify-content:space-between;align-items:baseline;padding:10px 16px;border-bottom:1px solid #2a2d35}
header h1{font-size:18px;margin:0;color:#fff}header p{margin:0;color:#8e8e9e}
main{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:${rowHeight}px;gap:8px;padding:8px 16px}
.panel{background:#181b1f;border:1px solid #2a2d35;border-radius:4px;padding:6px 10px;display:flex;flex-direction:column;min-width:0}
.panel h2{font-size:14px;margin:0 0 4px;color:#fff}.chart{flex:1;min-height:0}svg{width:100%;height:100%}
.grid{stroke:#2a2d35}.chart{position:relative}.scale{position:absolute;right:0;top:0;color:#8e8e9e;font-size:11px}.empty{color:#f2495c;padding:20px}
.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px}
.swatch{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
code{display:block;color:#6e9fff;font-size:10px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
</style></head><body><header><h1>${escapeHtml(dashboard.title)}</h1><p>${escapeHtml(caption)}</p></header>
<main>${panels.join("\n")}</main></body></html>`
}
