/**
 * The trace-view stand-in: one vote's spans as a waterfall, the way Jaeger's
 * trace page lays them out (a row per span, indented under its parent, a bar
 * from its start to its end on the trace's time axis, coloured by service),
 * followed by the spans of the traces linked to it (the worker's batch, the
 * result service's refresh), as Jaeger lists span links. Drawn from spans the
 * services really exported, without Jaeger.
 */
export interface WaterfallSpan {
  readonly service: string
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly startNs: bigint
  readonly endNs: bigint
  /** Why the span is here: part of the vote's trace, or which link led to it. */
  readonly via: string
}

const colours: Record<string, string> = { vote: "#17b8be", worker: "#f8dcb4", result: "#b7885e" }
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string)

const ms = (ns: bigint) => Number(ns) / 1e6

/** Depth of each span under its parent within the spans shown. */
const depthOf = (span: WaterfallSpan, spans: ReadonlyArray<WaterfallSpan>): number => {
  const parent = spans.find((s) => s.spanId === span.parentSpanId && s.traceId === span.traceId)
  return parent ? 1 + depthOf(parent, spans) : 0
}

export const tracePage = (spans: ReadonlyArray<WaterfallSpan>, caption: string): string => {
  const start = spans.reduce((m, s) => (s.startNs < m ? s.startNs : m), spans[0]?.startNs ?? 0n)
  const end = spans.reduce((m, s) => (s.endNs > m ? s.endNs : m), spans[0]?.endNs ?? 1n)
  const total = Math.max(ms(end - start), 0.001)
  const voteTrace = spans[0]?.traceId ?? ""
  const ticks = [0, 0.25, 0.5, 0.75, 1].map(
    (f) => `<span style="left:${f * 100}%">${(total * f).toFixed(total < 10 ? 2 : 1)} ms</span>`
  )
  const rows = spans.map((span) => {
    const left = (ms(span.startNs - start) / total) * 100
    const width = Math.max((ms(span.endNs - span.startNs) / total) * 100, 0.3)
    const depth = depthOf(span, spans)
    const colour = colours[span.service] ?? "#8ab8ff"
    return `<div class="row"><div class="name" style="padding-left:${8 + depth * 18}px">
<span class="svc" style="border-color:${colour}">${escapeHtml(span.service)}</span> ${escapeHtml(span.name)}
<small>${escapeHtml(span.via)}</small></div>
<div class="lane"><div class="bar" style="left:${left}%;width:${width}%;background:${colour}"></div>
<span class="dur" style="${
      left + width > 85 ? `right:calc(${100 - left}% + 4px)` : `left:calc(${left + width}% + 4px)`
    }">${ms(span.endNs - span.startNs).toFixed(2)} ms</span></div></div>`
  })
  const services = [...new Set(spans.map((s) => s.service))]
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trace ${voteTrace}</title><style>
body{margin:0;background:#fff;color:#222;font:13px/1.4 system-ui,sans-serif}
header{padding:12px 16px;border-bottom:1px solid #ddd;background:#f5f5f5}
header h1{font-size:18px;margin:0}header p{margin:4px 0 0;color:#555}
.meta{display:flex;gap:24px;margin-top:6px}.meta b{font-weight:600}
.axis{position:relative;height:20px;margin-left:40%;border-bottom:1px solid #ddd;color:#777;font-size:11px}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}.axis span:first-child{transform:none}
.axis span:last-child{transform:translateX(-100%)}
.row{display:flex;border-bottom:1px solid #eee;min-height:30px;align-items:center}
.name{width:40%;box-sizing:border-box;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.name small{color:#888;margin-left:6px}.svc{border-left:4px solid;padding-left:4px;font-weight:600}
.lane{position:relative;flex:1;height:30px}.bar{position:absolute;top:9px;height:12px;border-radius:2px;min-width:2px}
.dur{position:absolute;top:7px;font-size:11px;color:#555;white-space:nowrap}
</style></head><body><header><h1>vote: POST /api/vote <small>${escapeHtml(voteTrace)}</small></h1>
<p>${escapeHtml(caption)}</p>
<div class="meta"><span>Services <b>${services.length}</b> (${services.map(escapeHtml).join(", ")})</span>
<span>Spans <b>${spans.length}</b></span><span>Duration <b>${total.toFixed(2)} ms</b></span></div></header>
<div class="axis">${ticks.join("")}</div>
${rows.join("\n")}</body></html>`
}
