import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import { freePort, type RunningComponent, startComponent } from "../support/Processes.ts"

/**
 * The database password never leaves its file: not when it is right, not when
 * it is wrong (the error PostgreSQL sends back is reported, the value is not).
 */
describe("the database password stays out of logs, error bodies and metrics", () => {
  let deployment: Deployment
  const wrongSecrets = mkdtempSync("/tmp/voting-wrong-secret-")
  const wrongPassword = "wrong-canary-7c1e5a9b3d"
  let misconfigured: RunningComponent | undefined

  beforeAll(async () => {
    deployment = await startDeployment({ logLevel: "debug" })
    await Promise.all([deployment.start("vote"), deployment.start("result"), deployment.start("worker")])
    // The worker logs in as the writer: its password is the one that is wrong here.
    writeFileSync(join(wrongSecrets, "POSTGRES_WRITER_PASSWORD"), wrongPassword)
  }, 120_000)

  afterAll(async () => {
    await misconfigured?.stop("SIGTERM")
    await deployment?.tearDown()
    rmSync(wrongSecrets, { recursive: true, force: true })
  }, 60_000)

  it("a worker with the wrong password starts unready, says the login failed, and shows neither password", async () => {
    misconfigured = await startComponent("worker", {
      port: await freePort(),
      via: "node",
      waitFor: "live",
      env: { ...deployment.env, SECRETS_DIR: wrongSecrets, LOG_LEVEL: "debug" }
    })
    const ready = await fetch(`${misconfigured.url}/readyz`)
    const body = await ready.text()
    expect(ready.status).toBe(503)
    expect(body).toMatch(/password authentication failed/)
    const metrics = await (await fetch(`${misconfigured.url}/metrics`)).text()
    for (const text of [body, metrics, misconfigured.output()]) {
      expect(text).not.toContain(wrongPassword)
      for (const secret of deployment.secrets) expect(text).not.toContain(secret)
    }
  })

  it("the running services, their health and metrics never show the real one", async () => {
    const texts: Array<string> = []
    for (const component of deployment.components()) {
      for (const path of ["/readyz", "/metrics", "/", "/api/results"]) {
        texts.push(await (await fetch(`${component.url}${path}`)).text())
      }
    }
    texts.push(deployment.allOutput())
    for (const text of texts) for (const secret of deployment.secrets) expect(text).not.toContain(secret)
    // The components really used it: they are ready against a database that demands it.
    expect(texts.join("\n")).toMatch(/"ready":true/)
  })

  it("each service logs in as its own database role: the worker as the writer, the result service as the reader", async () => {
    const sessions = await deployment.postgres.query(
      "SELECT DISTINCT application_name, usename FROM pg_stat_activity WHERE application_name LIKE 'voting-%' ORDER BY 1"
    )
    expect(sessions).toContain("voting-worker|voting_writer")
    expect(sessions).toContain("voting-result|voting_reader")
    expect(sessions.filter((row) => /^voting-(worker|result)\|postgres$/.test(row))).toEqual([])
  })
})
