import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, repositoryRoot } from "../support/Processes.ts"
import { type Standalone, startStandalone } from "../support/Standalone.ts"
import { type AxeViolation, axeScan, describeViolations, launchChromium } from "./support/Browser.ts"
import { decodePng, distinctColours } from "./support/Png.ts"

/**
 * The two pages people look at, in a real browser, against `npm start` with
 * its embedded defaults: voting as three people, the result page following
 * live, the marked choice, the links between the two pages, no JavaScript,
 * live poll changes, a dropped stream, an accessibility scan, and screenshots
 * (test-results/browser/).
 */
/**
 * The few browser globals the in-page checks use (this project compiles without
 * the DOM library). Casts only: those functions run in the page, not here.
 */
type InPage = {
  getComputedStyle: (element: unknown) => { outlineStyle: string }
  sameDocument?: boolean
  firstBar?: unknown
}

const artefacts = join(repositoryRoot, "test-results", "browser")
const phone = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true
} satisfies BrowserContextOptions
const desktop = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 } satisfies BrowserContextOptions

/** One screenshot, with what the page said in text at the moment it was taken. */
interface Capture {
  readonly file: string
  readonly png: Buffer
  readonly text: string
  readonly device: typeof phone | typeof desktop
}

/**
 * What a screenshot can show: the whole page at the device's width and scale
 * (at least one screen tall), not blank (a rendered page has many colours from
 * text, buttons and bars; a failed one a couple), and the page it was taken
 * of held `expected`.
 */
const expectPicture = (capture: Capture, expected: ReadonlyArray<string>) => {
  const image = decodePng(capture.png)
  const { viewport, deviceScaleFactor } = capture.device
  expect(image.width, capture.file).toBe(viewport.width * deviceScaleFactor)
  expect(image.height, capture.file).toBeGreaterThanOrEqual(viewport.height * deviceScaleFactor)
  expect(distinctColours(image), capture.file).toBeGreaterThan(32)
  for (const text of expected) expect(capture.text, capture.file).toContain(text)
}

/** Waits for a condition the app reaches on its own (a queued vote counted, a stream pushed). */
const eventually = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 15_000, interval: 100 })

describe("the vote and result pages in Chromium, against npm start", () => {
  const work = mkdtempSync(join(tmpdir(), "voting-browser-"))
  const dataDir = join(work, "data")
  const configDir = join(work, "config")
  let ports: { votePort: number; resultPort: number }
  let app: Standalone
  let browser: Browser
  const contexts: Array<BrowserContext> = []
  // Anything the pages try to load from elsewhere, and anything the CSP refused.
  const foreignRequests: Array<string> = []
  const cspViolations: Array<string> = []
  const scriptErrors: Array<string> = []

  const setPoll = (title: string, options: string) => {
    writeFileSync(join(configDir, "POLL_TITLE"), title)
    writeFileSync(join(configDir, "POLL_OPTIONS"), options)
  }

  const newContext = async (options: BrowserContextOptions = desktop) => {
    const context = await browser.newContext(options)
    context.on("request", (request) => {
      const url = new URL(request.url())
      if (url.hostname !== "localhost") foreignRequests.push(request.url())
    })
    context.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
    })
    context.on("weberror", (error) => scriptErrors.push(String(error.error())))
    contexts.push(context)
    return context
  }

  const votePage = async (context: BrowserContext) => {
    const page = await context.newPage()
    await page.goto(app.voteUrl)
    return page
  }

  const voteFor = async (page: Page, label: string) => {
    await page.getByRole("button", { name: label, exact: true }).click()
    // The form posts, the server answers 303 to /, and the new page marks the choice.
    await eventually(() => page.getByRole("button", { name: label, exact: true }).getAttribute("aria-pressed")).toBe(
      "true"
    )
  }

  const shown = (page: Page, option: string) => page.locator(`li[data-option="${option}"] .count`).textContent()

  const scan = async (page: Page, name: string): Promise<ReadonlyArray<AxeViolation>> => {
    const violations = await axeScan(page)
    writeFileSync(join(artefacts, `axe-${name}.json`), `${JSON.stringify(violations, null, 2)}\n`)
    return violations
  }

  const screenshots = async (url: string, name: string, prepare?: (page: Page) => Promise<void>) => {
    const captures: Array<Capture> = []
    for (const [size, device] of [
      ["phone", phone],
      ["desktop", desktop]
    ] as const) {
      for (const colorScheme of ["light", "dark"] as const) {
        const context = await newContext({ ...device, colorScheme })
        const page = await context.newPage()
        await page.goto(url)
        await prepare?.(page)
        const file = `${name}-${size}-${colorScheme}.png`
        // The text the picture shows, read just before it is taken.
        const text = await page.locator("body").innerText()
        const png = await page.screenshot({ path: join(artefacts, file), fullPage: true })
        captures.push({ file, png, text, device })
        await context.close()
      }
    }
    // Light and dark are different pictures of the same page.
    for (const light of captures.filter((c) => c.file.endsWith("-light.png"))) {
      const dark = captures.find((c) => c.file === light.file.replace("-light.png", "-dark.png"))
      expect(dark?.png.equals(light.png), light.file).toBe(false)
    }
    return captures
  }

  beforeAll(async () => {
    mkdirSync(artefacts, { recursive: true })
    mkdirSync(configDir)
    setPoll("Cats or dogs?", "a=Cats,b=Dogs")
    ports = { votePort: await freePort(), resultPort: await freePort() }
    // One after the other, so afterAll can stop whichever did start.
    app = await startStandalone({ dataDir, configDir, ...ports })
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => {})))
    await browser?.close()
    // Ctrl-C stops it cleanly: within the 10 s, with no error on the way out.
    await app?.interrupt()
    rmSync(work, { recursive: true, force: true })
    if (app) expect(app.output()).not.toMatch(/"level":"(ERROR|FATAL)"/)
  }, 60_000)

  it("shows the poll from config with one labelled button per option, no choice yet, and the serving instance", async () => {
    const page = await votePage(await newContext())
    await expect(page.title()).resolves.toBe("Cats or dogs?")
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Cats or dogs?")
    const buttons = page.getByRole("button")
    await expect(buttons.allTextContents()).resolves.toEqual(["Cats", "Dogs"])
    for (const button of await buttons.all()) await expect(button.getAttribute("aria-pressed")).resolves.toBe("false")
    await expect(page.getByText(/Served by \S+/).count()).resolves.toBe(1)

    // Keyboard: Tab reaches the first option and shows where focus is.
    await page.keyboard.press("Tab")
    const focused = page.locator(":focus")
    await expect(focused.textContent()).resolves.toBe("Cats")
    await expect(
      focused.evaluate((element) => (globalThis as unknown as InPage).getComputedStyle(element).outlineStyle)
    ).resolves.toBe("solid")

    const light = await scan(page, "vote-light")
    await page.emulateMedia({ colorScheme: "dark" })
    const dark = await scan(page, "vote-dark")
    expect(describeViolations([...light, ...dark])).toBe("")
  })

  it("links the ballot to the results page and the results page to the ballot, and each link lands there", async () => {
    const page = await votePage(await newContext())
    const toResults = page.getByRole("link", { name: "See the results", exact: true })
    await expect(toResults.getAttribute("href")).resolves.toBe(`${app.resultUrl}/`)
    await toResults.click()
    await page.waitForURL(`${app.resultUrl}/`)
    await expect(page.title()).resolves.toBe("Cats or dogs? · Results")
    await expect(page.locator("#total").count()).resolves.toBe(1)

    const toBallot = page.getByRole("link", { name: "Vote", exact: true })
    await expect(toBallot.getAttribute("href")).resolves.toBe(`${app.voteUrl}/`)
    await toBallot.click()
    await page.waitForURL(`${app.voteUrl}/`)
    await expect(page.title()).resolves.toBe("Cats or dogs?")
    await expect(page.getByRole("button").allTextContents()).resolves.toEqual(["Cats", "Dogs"])
  })

  it("counts three voters (one changes their mind) and the result page follows live, without a reload", async () => {
    const results = await (await newContext()).newPage()
    await results.goto(app.resultUrl)
    await expect(results.getByText("No votes yet.").isVisible()).resolves.toBe(true)
    await expect(results.locator("#total").textContent()).resolves.toBe("0")
    await results.evaluate(() => {
      ;(globalThis as unknown as InPage).sameDocument = true
    })
    // The bars move: the same elements are updated in place, not replaced.
    const firstBar = results.locator('li[data-option="a"] progress')
    await firstBar.evaluate((bar) => {
      ;(globalThis as unknown as InPage).firstBar = bar
    })
    await results.screenshot({ path: join(artefacts, "results-empty-desktop-light.png") })

    const [ann, bob, cy] = await Promise.all([1, 2, 3].map(async () => votePage(await newContext())))
    await voteFor(ann!, "Cats")
    await eventually(() => shown(results, "a")).toBe("1 vote · 100%")
    await voteFor(bob!, "Dogs")
    await voteFor(cy!, "Cats")
    await eventually(() => results.locator("#total").textContent()).toBe("3")
    await voteFor(cy!, "Dogs")

    await eventually(() => shown(results, "b")).toBe("2 votes · 67%")
    await expect(shown(results, "a")).resolves.toBe("1 vote · 33%")
    await expect(results.locator("#total").textContent()).resolves.toBe("3")
    await expect(results.locator('li[data-option="b"] progress').getAttribute("value")).resolves.toBe("67")
    await expect(results.getByText("No votes yet.").isVisible()).resolves.toBe(false)
    await expect(results.evaluate(() => (globalThis as unknown as InPage).sameDocument)).resolves.toBe(true)
    await expect(firstBar.evaluate((bar) => bar === (globalThis as unknown as InPage).firstBar)).resolves.toBe(true)

    const light = await scan(results, "results-light")
    await results.emulateMedia({ colorScheme: "dark" })
    const dark = await scan(results, "results-dark")
    expect(describeViolations([...light, ...dark])).toBe("")

    // After a reload the page marks the voter's current choice (and only that one).
    await cy!.reload()
    await expect(cy!.getByRole("button", { name: "Dogs", exact: true }).getAttribute("aria-pressed")).resolves.toBe(
      "true"
    )
    await expect(cy!.getByRole("button", { name: "Cats", exact: true }).getAttribute("aria-pressed")).resolves.toBe(
      "false"
    )
    await expect(cy!.getByRole("status").textContent()).resolves.toMatch(/You voted for Dogs/)
  })

  it("works with JavaScript turned off: the form votes, both pages render complete", async () => {
    const context = await newContext({ ...desktop, javaScriptEnabled: false })
    const page = await votePage(context)
    await voteFor(page, "Cats")
    await expect(page.getByRole("status").textContent()).resolves.toMatch(/You voted for Cats/)
    // The link is a plain one: it works without a script.
    await page.getByRole("link", { name: "See the results", exact: true }).click()
    await page.waitForURL(`${app.resultUrl}/`)
    await expect(page.locator("#total").count()).resolves.toBe(1)

    const results = await context.newPage()
    await eventually(async () => {
      await results.goto(app.resultUrl)
      return results.locator("#total").textContent()
    }).toBe("4")
    await expect(shown(results, "a")).resolves.toBe("2 votes · 50%")
    await expect(shown(results, "b")).resolves.toBe("2 votes · 50%")
  })

  it("takes screenshots of both pages on a phone and a desktop, light and dark", async () => {
    // A voter with a choice, so the marked button is in the picture.
    for (const capture of await screenshots(app.voteUrl, "vote", (page) => voteFor(page, "Dogs")))
      expectPicture(capture, ["Cats or dogs?", "Cats", "Dogs", "You voted for Dogs", "See the results"])
    for (const capture of await screenshots(app.resultUrl, "results", (page) =>
      eventually(() => page.locator("#total").textContent())
        .not.toBe("0")
        .then(() => {})
    ))
      expectPicture(capture, ["Cats or dogs?", "Cats", "Dogs", "Total voters:", "Vote"])
  })

  it("picks up new poll options from CONFIG_DIR while it runs: the result page without a reload, the ballot on the next load", async () => {
    const results = await (await newContext()).newPage()
    await results.goto(app.resultUrl)
    setPoll("Cats, dogs or birds?", "a=Cats,b=Dogs,c=Birds")
    await eventually(() => results.locator("h1").textContent()).toBe("Cats, dogs or birds?")
    await expect(shown(results, "c")).resolves.toBe("0 votes · 0%")
    const page = await votePage(await newContext())
    await expect(page.getByRole("button").allTextContents()).resolves.toEqual(["Cats", "Dogs", "Birds"])
    await voteFor(page, "Birds")
    await eventually(() => shown(results, "c")).toMatch(/^1 vote · /)
  })

  it("says so while the stream is down, reconnects by itself, and keeps the votes across a restart", async () => {
    const results = await (await newContext()).newPage()
    await results.goto(app.resultUrl)
    const notice = results.locator("#connection")
    await eventually(() => notice.isVisible()).toBe(false)
    const before = await results.locator("#total").textContent()

    await app.interrupt()
    expect(app.output()).not.toMatch(/"level":"(ERROR|FATAL)"/)
    await eventually(() => notice.isVisible()).toBe(true)
    await expect(notice.textContent()).resolves.toMatch(/reconnecting/i)
    await results.screenshot({ path: join(artefacts, "results-disconnected-desktop-light.png") })

    app = await startStandalone({ dataDir, configDir, ...ports })
    await eventually(() => notice.isVisible()).toBe(false)
    await expect(results.locator("#total").textContent()).resolves.toBe(before)
    // The new stream is live: a vote made now shows up without a reload.
    await voteFor(await votePage(await newContext()), "Birds")
    await eventually(() => results.locator("#total").textContent()).toBe(String(Number(before) + 1))
  })

  it("loaded nothing from elsewhere and broke no Content-Security-Policy rule", () => {
    expect(foreignRequests).toEqual([])
    expect(cspViolations).toEqual([])
    expect(scriptErrors).toEqual([])
  })
})
