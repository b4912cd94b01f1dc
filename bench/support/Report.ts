import type { Spread } from "./Stats.ts"

export interface Row {
  readonly figure: string
  readonly unit: string
  readonly value: Spread | number | string | undefined
  /** The floor, as said in the issue, and whether the median meets it. */
  readonly floor?: { readonly text: string; readonly met: boolean | undefined }
}

const format = (value: number) =>
  Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 3 })

const cells = (value: Row["value"]): [string, string, string] => {
  if (value === undefined) return ["", "n/a", ""]
  if (typeof value === "string") return ["", value, ""]
  if (typeof value === "number") return ["", format(value), ""]
  return [format(value.min), format(value.median), format(value.max)]
}

/** A plain-text table: figure, unit, min, median, max, floor, met. */
export const renderTable = (title: string, rows: ReadonlyArray<Row>): string => {
  const header = ["figure", "unit", "min", "median", "max", "floor", "met"]
  const body = rows.map((row) => {
    const [min, med, max] = cells(row.value)
    const met = row.floor === undefined ? "" : row.floor.met === undefined ? "?" : row.floor.met ? "yes" : "NO"
    return [row.figure, row.unit, min, med, max, row.floor?.text ?? "", met]
  })
  const widths = header.map((name, i) => Math.max(name.length, ...body.map((line) => line[i]!.length)))
  const numeric = new Set([2, 3, 4])
  const line = (values: ReadonlyArray<string>) =>
    values.map((value, i) => (numeric.has(i) ? value.padStart(widths[i]!) : value.padEnd(widths[i]!))).join("  ")
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  return [title, rule, line(header), rule, ...body.map(line), rule].join("\n")
}
