import { readFileSync } from "node:fs"

/** One metric family of a Prometheus text scrape: its HELP, its TYPE and its sample lines. */
export interface MetricFamily {
  readonly name: string
  readonly help: string | undefined
  readonly type: string | undefined
  readonly samples: ReadonlyArray<{ readonly name: string; readonly labels: string; readonly value: number }>
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/

/** The sample names a family of `type` may use besides its own name. */
const suffixes: Record<string, ReadonlyArray<string>> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["_sum", "_count"]
}

/**
 * Parses Prometheus text (format 0.0.4) into its families, keyed by name. A
 * sample line belongs to the family declared before it whose name it is, or
 * whose name plus a suffix of its type it is; a sample that belongs to no
 * declared family becomes a family of its own with neither HELP nor TYPE.
 */
export const parseMetrics = (text: string): Map<string, MetricFamily> => {
  const families = new Map<string, { name: string; help?: string; type?: string; samples: MetricFamily["samples"] }>()
  const family = (name: string) => {
    let found = families.get(name)
    if (found === undefined) {
      found = { name, samples: [] }
      families.set(name, found)
    }
    return found
  }
  for (const line of text.split("\n")) {
    if (line === "") continue
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help) {
      family(help[1]!).help = help[2]!
      continue
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) {
      family(type[1]!).type = type[2]!
      continue
    }
    if (line.startsWith("#")) continue
    const sample = sampleLine.exec(line)
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`)
    const [, name, labels = "", value] = sample as unknown as [string, string, string | undefined, string]
    const owner =
      [...families.values()].find(
        (f) => f.name === name || (suffixes[f.type ?? ""] ?? []).some((suffix) => f.name + suffix === name)
      ) ?? family(name)
    ;(owner.samples as Array<MetricFamily["samples"][number]>).push({
      name,
      labels,
      value: value === "+Inf" ? Number.POSITIVE_INFINITY : Number(value)
    })
  }
  return families as Map<string, MetricFamily>
}

/**
 * What is wrong with a scrape by the Prometheus conventions this app keeps:
 * every family has HELP and TYPE, counters and only counters end in `_total`,
 * a duration is in seconds (`_seconds`, never milliseconds), and a histogram
 * has its `+Inf` bucket, `_sum` and `_count` for each series.
 */
export const conventionProblems = (families: Map<string, MetricFamily>): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const family of families.values()) {
    const { name, type } = family
    if (family.help === undefined || family.help.trim() === "") problems.push(`${name}: no HELP`)
    if (type === undefined) problems.push(`${name}: no TYPE`)
    if (type === "counter" && !name.endsWith("_total")) problems.push(`${name}: a counter not ending in _total`)
    if (type !== "counter" && name.endsWith("_total")) problems.push(`${name}: a ${type} ending in _total`)
    if (/(_duration|_latency|_age|_time)(_|$)/.test(name) && !/_seconds(_total)?$/.test(name)) {
      problems.push(`${name}: a duration not in _seconds`)
    }
    if (/millis|_ms(_|$)/.test(name)) problems.push(`${name}: a unit other than seconds`)
    if (type === "histogram") {
      const series = new Set(family.samples.filter((s) => s.name === `${name}_count`).map((s) => s.labels))
      for (const labels of series) {
        const inner = labels.slice(1, -1)
        const withLe = (le: string) => `{${inner === "" ? "" : `${inner},`}le="${le}"}`
        if (!family.samples.some((s) => s.name === `${name}_bucket` && s.labels === withLe("+Inf"))) {
          problems.push(`${name}${labels}: no +Inf bucket`)
        }
        if (!family.samples.some((s) => s.name === `${name}_sum` && s.labels === labels)) {
          problems.push(`${name}${labels}: no _sum`)
        }
      }
    }
  }
  return problems
}

/** The value of the sample `name` with exactly `labels` (`{a="b"}`, or "" for none). */
export const sampleValue = (families: Map<string, MetricFamily>, name: string, labels = ""): number | undefined => {
  for (const family of families.values()) {
    const found = family.samples.find((s) => s.name === name && s.labels === labels)
    if (found) return found.value
  }
  return undefined
}

/**
 * The metrics docs/interface.md ("Metrics") says `component` exports, with
 * their types: what a scrape of that component must match exactly.
 */
export const documentedMetrics = (component: "vote" | "worker" | "result"): Map<string, string> => {
  const docs = readFileSync(new URL("../../docs/interface.md", import.meta.url), "utf8")
  const section = docs.slice(docs.indexOf("### Metrics\n"), docs.indexOf("## What a vote means"))
  const documented = new Map<string, string>()
  for (const row of section.matchAll(/^\| `([a-z_:]+)` \| (\w+) \| ([a-z, ]+) \|/gm)) {
    if (row[3]!.split(", ").includes(component)) documented.set(row[1]!, row[2]!)
  }
  return documented
}

/** Each family's name and type, for comparing with `documentedMetrics`. */
export const exportedMetrics = (families: Map<string, MetricFamily>): Map<string, string> =>
  new Map([...families.values()].map((family) => [family.name, family.type ?? "untyped"]))

/** GET /metrics on 127.0.0.1:`port`, parsed. */
export const scrapeMetrics = (port: number): Promise<Map<string, MetricFamily>> =>
  fetch(`http://127.0.0.1:${port}/metrics`).then(async (answer) => parseMetrics(await answer.text()))
