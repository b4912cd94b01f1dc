/**
 * Which metrics a Grafana dashboard queries, and which the services export:
 * every metric a panel's PromQL names must be one the code defines.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"

export interface DashboardQuery {
  readonly panel: string
  readonly expr: string
}

interface Panel {
  readonly title?: string
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>
  readonly panels?: ReadonlyArray<Panel>
}

/** Every PromQL expression of every panel (rows' nested panels included), with the panel's title. */
export const dashboardQueries = (dashboard: { readonly panels?: ReadonlyArray<Panel> }): Array<DashboardQuery> => {
  const walk = (panels: ReadonlyArray<Panel>): Array<DashboardQuery> =>
    panels.flatMap((p) => [
      ...(p.targets ?? []).flatMap((t) =>
        typeof t.expr === "string" ? [{ panel: p.title ?? "(untitled)", expr: t.expr }] : []
      ),
      ...walk(p.panels ?? [])
    ])
  return walk(dashboard.panels ?? [])
}

/** PromQL words that are never metric names where a bare identifier can stand. */
const keywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan"
])

/**
 * The metric names a PromQL expression selects. Strings, label matchers, range
 * and subquery brackets and grouping clauses are removed first; what is left
 * is either a function (followed by `(`), a keyword, a number, or a metric name.
 * `{__name__="x"}` selectors are read from the matchers.
 */
export const metricNames = (expr: string): Array<string> => {
  const byName = [...expr.matchAll(/__name__\s*=\s*"([^"]+)"/g)].map((m) => m[1] as string)
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
  const names = [...stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has((m[1] as string).toLowerCase()))
    .map((m) => m[1] as string)
  return [...new Set([...names, ...byName])].sort()
}

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (entry === "node_modules" || entry === "dist" || entry === "test") return []
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.ts$/.test(entry) ? [path] : []
  })

/** The series names each metric kind puts on /metrics (Effect's PrometheusMetrics.format). */
const seriesOf = (kind: string, name: string): Array<string> =>
  kind === "histogram"
    ? [`${name}_bucket`, `${name}_sum`, `${name}_count`]
    : kind === "summary"
      ? [name, `${name}_sum`, `${name}_count`]
      : [name]

/**
 * The series the services export, read from the code: every
 * `Metric.counter|gauge|histogram|summary|frequency("name"` (or a string constant
 * of the same file for the name) under packages/ and services/.
 */
export const exportedSeries = (root: string): Map<string, string> => {
  const found = new Map<string, string>()
  for (const top of ["packages", "services"])
    for (const file of sourceFiles(join(root, top))) {
      const text = readFileSync(file, "utf8")
      // A name given through a string constant of the same file (`const name = "..."`) counts too.
      const constants = new Map(
        [...text.matchAll(/\bconst\s+(\w+)\s*=\s*"([a-zA-Z_:][\w:]*)"/g)].map((m) => [m[1] as string, m[2] as string])
      )
      for (const m of text.matchAll(
        /Metric\.(counter|gauge|histogram|summary|frequency)\(\s*(?:"([a-zA-Z_:][\w:]*)"|(\w+)\s*[,)])/g
      )) {
        const name = m[2] ?? constants.get(m[3] as string)
        if (name === undefined) continue
        for (const series of seriesOf(m[1] as string, name)) found.set(series, relative(root, file))
      }
    }
  return found
}
