/** One line of the fault suite's report. */
export interface FaultRow {
  readonly scenario: string
  readonly answered: number
  readonly counted: number
  readonly lost: number
  readonly doubleCounted: number
  /** From the end of the fault to results equal to the ground truth; the worst repetition. */
  readonly recoverMs: number | undefined
  /** Anything worth reading next to the numbers (503s seen, repetitions). */
  readonly notes: string
}

const columns = ["scenario", "votes answered", "votes counted", "lost", "double-counted", "time to recover", "notes"]

/** The rows as a plain-text table, as the suite prints it. */
export const formatFaultTable = (rows: ReadonlyArray<FaultRow>): string => {
  const cells = rows.map((row) => [
    row.scenario,
    String(row.answered),
    String(row.counted),
    String(row.lost),
    String(row.doubleCounted),
    row.recoverMs === undefined ? "-" : `${(row.recoverMs / 1000).toFixed(1)} s`,
    row.notes
  ])
  const widths = columns.map((title, i) => Math.max(title.length, ...cells.map((line) => (line[i] as string).length)))
  const line = (values: ReadonlyArray<string>) =>
    `| ${values.map((value, i) => (i >= 1 && i <= 5 ? value.padStart(widths[i] as number) : value.padEnd(widths[i] as number))).join(" | ")} |`
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`
  return [line(columns), rule, ...cells.map(line)].join("\n")
}
