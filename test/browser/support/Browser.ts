import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { type Browser, chromium, type Page } from "playwright-core"

/**
 * Debian's Chromium, headless, with nothing that would reach the network on
 * its own. Playwright gives each launch a fresh, temporary profile.
 */
export const launchChromium = (): Promise<Browser> => {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<{ readonly target: ReadonlyArray<string>; readonly failureSummary: string | undefined }>
}

/**
 * Runs axe-core in the page against WCAG 2.1 A/AA and best practices. The
 * source is evaluated through the DevTools protocol, which the page's CSP does
 * not govern, so the page is scanned exactly as it is served.
 */
export const axeScan = async (page: Page): Promise<ReadonlyArray<AxeViolation>> => {
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as {
      axe: { run: (context: unknown, options: unknown) => Promise<{ violations: Array<AxeViolation> }> }
      document: unknown
    }
    const result = await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }
    })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary }))
    }))
  })
}

/** One line per violation and element, for a failure message a person can act on. */
export const describeViolations = (violations: ReadonlyArray<AxeViolation>): string =>
  violations
    .flatMap((v) => v.nodes.map((n) => `${v.impact ?? "?"} ${v.id}: ${v.help} at ${n.target.join(" ")}`))
    .join("\n")
