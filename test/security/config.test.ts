import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type ComponentName, spawnCollecting } from "../support/Processes.ts"

/**
 * A missing or malformed key stops a component at start with one line that
 * names the key, where it was found and what is wrong; a secret in a malformed
 * value never shows up in that line.
 */

const secret = "canary-0f3b9c1d2e4a5b6c7d8e9f00"
const root = mkdtempSync("/tmp/voting-config-")
const configDir = join(root, "config")
const secretsDir = join(root, "secrets")
mkdirSync(configDir)
mkdirSync(secretsDir)

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Runs a component (or check-config) until it exits; its output and exit code. */
const runToExit = async (command: Array<string>, env: Record<string, string>) => {
  const run = spawnCollecting(process.execPath, ["--conditions=source", ...command], {
    PATH: process.env.PATH ?? "",
    ...env
  })
  const killer = setTimeout(() => run.child.kill("SIGKILL"), 20_000)
  const code = await run.exited
  clearTimeout(killer)
  return {
    code,
    lines: run
      .output()
      .split("\n")
      .filter((line) => line.length > 0)
  }
}

const entry: Record<ComponentName, string> = {
  vote: "services/vote/src/main.ts",
  worker: "services/worker/src/main.ts",
  result: "services/result/src/main.ts"
}

interface BadConfig {
  readonly name: string
  readonly component: ComponentName
  readonly env?: Record<string, string>
  readonly files?: Record<string, string>
  readonly says: RegExp
}

const badConfigs: ReadonlyArray<BadConfig> = [
  {
    name: "PORT not a number",
    component: "vote",
    env: { PORT: "eighty" },
    says: /PORT \(environment variable PORT\): "eighty" is not a port number/
  },
  {
    name: "MANAGEMENT_PORT not a number",
    component: "vote",
    env: { MANAGEMENT_PORT: "9090x" },
    says: /MANAGEMENT_PORT \(environment variable MANAGEMENT_PORT\): "9090x" is not a port number/
  },
  {
    name: "MANAGEMENT_PORT equal to the default PORT, in the ConfigMap",
    component: "result",
    files: { MANAGEMENT_PORT: "8081" },
    says: /MANAGEMENT_PORT \(file \/tmp\/voting-config-[^/]+\/case-[^/]+\/MANAGEMENT_PORT\): 8081 is also PORT; MANAGEMENT_PORT must differ from PORT/
  },
  {
    name: "MANAGEMENT_PORT equal to PORT",
    component: "worker",
    env: { PORT: "9102", MANAGEMENT_PORT: "9102" },
    says: /MANAGEMENT_PORT \(environment variable MANAGEMENT_PORT\): 9102 is also PORT; MANAGEMENT_PORT must differ from PORT/
  },
  {
    name: "POLL_OPTIONS with one option, in the ConfigMap",
    component: "result",
    files: { POLL_OPTIONS: "a=Cats" },
    says: /POLL_OPTIONS \(file \/tmp\/voting-config-[^/]+\/case-[^/]+\/POLL_OPTIONS\): expected 2 to 8 options/
  },
  {
    name: "POLL_OPTIONS with a bad id",
    component: "vote",
    files: { POLL_OPTIONS: "a=Cats,B C=Dogs" },
    says: /POLL_OPTIONS .*option id "B C" is not/
  },
  {
    name: "POLL_TITLE empty",
    component: "vote",
    files: { POLL_TITLE: "" },
    says: /POLL_TITLE .*must be 1 to 200 characters/
  },
  {
    name: "REDIS_URL of another scheme",
    component: "worker",
    env: { REDIS_URL: "http://127.0.0.1:6379" },
    says: /REDIS_URL \(environment variable REDIS_URL\): the value must start with redis: or rediss:/
  },
  {
    name: "DATABASE_URL malformed, with the password in it",
    component: "result",
    env: { DATABASE_URL: `postgres//postgres:${secret}@db` },
    says: /DATABASE_URL \(environment variable DATABASE_URL\): the value is not a URL/
  },
  {
    name: "POSTGRES_PORT malformed",
    component: "worker",
    env: { POSTGRES_HOST: "127.0.0.1", POSTGRES_PORT: "5432x" },
    says: /POSTGRES_PORT .*is not a port number/
  },
  {
    name: "POSTGRES_HOST empty",
    component: "worker",
    files: { POSTGRES_HOST: "" },
    says: /POSTGRES_HOST \(file .*\/POSTGRES_HOST\): is empty/
  },
  {
    name: "LOG_LEVEL unknown",
    component: "result",
    env: { LOG_LEVEL: "loud" },
    says: /LOG_LEVEL .*"loud" is not one of debug, info, warn, error/
  },
  {
    name: "REDIS_KEY_PREFIX with spaces",
    component: "vote",
    env: { REDIS_KEY_PREFIX: "my prefix" },
    says: /REDIS_KEY_PREFIX .*must be 1-64 of/
  }
]

describe("a missing or malformed key stops the component at start with one line naming it", () => {
  for (const bad of badConfigs) {
    it(`${bad.component}: ${bad.name}`, async () => {
      const dir = mkdtempSync(join(root, "case-"))
      for (const [key, value] of Object.entries(bad.files ?? {})) writeFileSync(join(dir, key), value)
      const { code, lines } = await runToExit([entry[bad.component]], {
        CONFIG_DIR: dir,
        SECRETS_DIR: secretsDir,
        REDIS_URL: "redis://127.0.0.1:1",
        ...bad.env
      })
      expect(code).toBe(1)
      expect(lines, lines.join("\n")).toHaveLength(1)
      const line = JSON.parse(lines[0] as string) as { level: string; message: string }
      expect(line.level).toBe("FATAL")
      expect(line.message).toMatch(bad.says)
      expect(lines[0]).not.toContain(secret)
    })
  }

  it("check-config --require-secret: a missing POSTGRES_PASSWORD, with where it was looked for", async () => {
    const { code, lines } = await runToExit(["packages/platform/src/bin/checkConfig.ts", "--require-secret"], {
      CONFIG_DIR: configDir,
      SECRETS_DIR: secretsDir
    })
    expect(code).toBe(1)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      new RegExp(
        `POSTGRES_PASSWORD \\(file ${configDir}/POSTGRES_PASSWORD, file ${secretsDir}/POSTGRES_PASSWORD, environment variable POSTGRES_PASSWORD\\): is missing`
      )
    )
  })
})
