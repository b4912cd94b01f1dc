import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bundledServices, bundleService } from "../../scripts/bundle.ts"
import { redisUrl } from "../support/globalSetup.ts"
import { freePort, type RunningComponent, startComponent } from "../support/Processes.ts"
import { testDatabase } from "../support/TestDatabase.ts"
import { deleteKeys, testPrefix } from "../support/TestRedis.ts"

/**
 * What the production image runs: each service's bundle (`npm run bundle`),
 * copied where no node_modules can be found above it, as in the image. The
 * init containers' migrate and check-config run from it, then the three
 * services, and a vote goes all the way through.
 */
describe("the production bundles, with no node_modules beside them", () => {
  const prefix = testPrefix()
  const scope = Effect.runSync(Scope.make())
  const out = mkdtempSync(join(tmpdir(), "voting-bundles-"))
  const components: Array<RunningComponent> = []
  let env: Record<string, string>

  const runEntry = (service: string, entry: string, args: Array<string> = []) =>
    spawnSync(process.execPath, [join(out, service, "entry", entry), ...args], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: 30_000
    })

  beforeAll(async () => {
    for (const service of bundledServices) await bundleService(service, out)
    const database = await Effect.runPromise(Scope.provide(testDatabase, scope))
    env = { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: "warn" }
  }, 60_000)

  afterAll(async () => {
    await Promise.all(components.map((component) => component.stop("SIGTERM")))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await Effect.runPromise(deleteKeys(prefix))
    rmSync(out, { recursive: true, force: true })
  }, 30_000)

  it("holds each service's entry points and assets, and nothing else", () => {
    expect(existsSync(join(out, "node_modules"))).toBe(false)
    for (const service of bundledServices) {
      expect(readdirSync(join(out, service)).sort()).toEqual(["assets", "entry"])
      expect(readdirSync(join(out, service, "entry")).sort()).toEqual(["check-config.mjs", "main.mjs", "migrate.mjs"])
    }
    expect(readdirSync(join(out, "result", "assets")).sort()).toEqual(["app.css", "results.js"])
  })

  it("runs the init containers' check-config and migrate", () => {
    const check = runEntry("worker", "check-config.mjs")
    expect(check.status, check.stdout + check.stderr).toBe(0)
    // The init container insists on the mounted secret; with none, one line says which key and where.
    const strict = runEntry("worker", "check-config.mjs", ["--require-secret"])
    expect(strict.status).toBe(1)
    expect(strict.stdout).toMatch(/POSTGRES_PASSWORD/)
    const migrate = runEntry("worker", "migrate.mjs")
    expect(migrate.status, migrate.stdout + migrate.stderr).toBe(0)
  })

  it("never loads undici, Node's fetch (810 KB of JavaScript no service uses)", async () => {
    // Printed as the process exits: every builtin module it loaded over its life.
    const probe = `process.on("exit", () => process.stdout.write("LOADED " + JSON.stringify(process.moduleLoadList) + "\\n"))`
    for (const name of bundledServices) {
      const component = await startComponent(name, {
        port: await freePort(),
        env: { ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(probe)}` },
        via: { bundle: out }
      })
      expect(await component.stop("SIGTERM")).toBe(0)
      const line = component
        .output()
        .split("\n")
        .find((printed) => printed.startsWith("LOADED "))
      expect(line, `${name} printed no module list`).toBeDefined()
      const loaded = (JSON.parse(line!.slice("LOADED ".length)) as Array<string>).join("\n")
      // node:http is in the list, so it is that of a process that served: undici missing means something.
      expect(loaded, name).toMatch(/NativeModule http$/m)
      expect(loaded, name).not.toMatch(/undici/)
    }
  }, 60_000)

  it("serves a vote through vote, worker and result, each from its bundle", async () => {
    const start = async (name: "vote" | "worker" | "result") => {
      const component = await startComponent(name, { port: await freePort(), env, via: { bundle: out } })
      components.push(component)
      return component
    }
    const [vote, result] = await Promise.all([start("vote"), start("result"), start("worker")])
    expect((await fetch(`${vote!.url}/assets/app.css`)).status).toBe(200)
    expect((await fetch(`${result!.url}/assets/results.js`)).status).toBe(200)
    const cast = await fetch(`${vote!.url}/api/vote`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ vote: "b" })
    })
    expect(cast.status).toBe(202)
    const deadline = Date.now() + 15_000
    let total = 0
    while (total !== 1 && Date.now() < deadline) {
      const response = await fetch(`${result!.url}/api/results`)
      if (response.ok) total = ((await response.json()) as { total: number }).total
      if (total !== 1) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(total).toBe(1)
    for (const component of components) expect(await component.stop("SIGTERM")).toBe(0)
    components.length = 0
  }, 60_000)
})
