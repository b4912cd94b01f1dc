/** The dev helpers the Tiltfile runs: credentials, TLS certificate, vote burst. */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { repoRoot } from "./support/ClusterModel.ts"

const scratch = mkdtempSync(join(tmpdir(), "cluster-scripts-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

describe("scripts/dev-credentials.sh", () => {
  it("makes a private random password per database role once, and keeps them", () => {
    const dir = join(scratch, "credentials")
    const keys = ["POSTGRES_PASSWORD", "POSTGRES_WRITER_PASSWORD", "POSTGRES_READER_PASSWORD"]
    execFileSync("sh", [join(repoRoot, "scripts/dev-credentials.sh"), dir], { stdio: "pipe" })
    const first = keys.map((key) => readFileSync(join(dir, key), "utf8"))
    for (const [i, key] of keys.entries()) {
      expect(first[i], key).toMatch(/^[0-9a-f]{64}$/)
      expect(statSync(join(dir, key)).mode & 0o077, key).toBe(0)
    }
    // One password per role: none shared.
    expect(new Set(first).size).toBe(keys.length)
    execFileSync("sh", [join(repoRoot, "scripts/dev-credentials.sh"), dir], { stdio: "pipe" })
    expect(keys.map((key) => readFileSync(join(dir, key), "utf8"))).toEqual(first)
  })

  it("fails with a line saying what failed", () => {
    const run = spawnSync("sh", [join(repoRoot, "scripts/dev-credentials.sh"), "/dev/null/credentials"], {
      encoding: "utf8"
    })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/^dev-credentials: failed to create \/dev\/null\/credentials/m)
  })
})

describe("scripts/dev-tls.sh", () => {
  it("makes a certificate for both hosts, signed by the CA it leaves beside it", () => {
    const dir = join(scratch, "tls")
    // openssl path: hide mkcert so the result does not depend on this machine.
    execFileSync("sh", [join(repoRoot, "scripts/dev-tls.sh"), dir], {
      stdio: "pipe",
      env: { ...process.env, PATH: "/usr/bin:/bin" }
    })
    const verify = execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.crt"), join(dir, "tls.crt")], {
      encoding: "utf8"
    })
    expect(verify).toContain("OK")
    const san = execFileSync("openssl", ["x509", "-in", join(dir, "tls.crt"), "-noout", "-ext", "subjectAltName"], {
      encoding: "utf8"
    })
    expect(san).toContain("DNS:vote.localhost")
    expect(san).toContain("DNS:result.localhost")
    expect(statSync(join(dir, "tls.key")).mode & 0o077).toBe(0)
    // A CA the user may trust signs for localhost names only, and its key is gone.
    const constraints = execFileSync(
      "openssl",
      ["x509", "-in", join(dir, "ca.crt"), "-noout", "-ext", "nameConstraints"],
      { encoding: "utf8" }
    )
    expect(constraints).toContain("critical")
    expect(constraints).toMatch(/Permitted:\s+DNS:localhost\b/)
    expect(existsSync(join(dir, "ca.key"))).toBe(false)
    expect(readdirSync(dir).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"])
  })

  it("fails loudly: which step, and openssl's own error", () => {
    const bin = join(scratch, "failing-openssl")
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, "openssl"), '#!/bin/sh\necho "req: something openssl says" >&2\nexit 1\n')
    chmodSync(join(bin, "openssl"), 0o755)
    const run = spawnSync("sh", [join(repoRoot, "scripts/dev-tls.sh"), join(scratch, "tls-failing")], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` }
    })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toContain("req: something openssl says")
    expect(run.stderr).toMatch(/^dev-tls: failed to make the local CA/m)
  })
})

describe("scripts/castVotes.ts", () => {
  it("posts JSON votes as new voters (no cookie) and reports what was accepted", async () => {
    const seen: Array<{ cookie: string | undefined; body: string; type: string | undefined }> = []
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (c) => (body += c))
      req.on("end", () => {
        seen.push({ cookie: req.headers.cookie, body, type: req.headers["content-type"] })
        res.writeHead(req.url === "/api/vote" && req.method === "POST" ? 202 : 404, {
          "content-type": "application/json"
        })
        res.end(JSON.stringify({ voterId: String(seen.length), vote: JSON.parse(body).vote }))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const { port } = server.address() as { port: number }
    const run = spawn(process.execPath, [
      join(repoRoot, "scripts/castVotes.ts"),
      "--url",
      `http://127.0.0.1:${port}`,
      "--count",
      "40"
    ])
    let out = ""
    run.stdout.on("data", (c) => (out += c))
    const code = await new Promise<number | null>((resolve) => run.on("close", resolve))
    server.close()
    expect(code).toBe(0)
    expect(JSON.parse(out)).toMatchObject({ sent: 40, accepted: 40, acceptedByOption: { a: 20, b: 20 } })
    expect(seen).toHaveLength(40)
    expect(seen.every((r) => r.cookie === undefined && r.type === "application/json")).toBe(true)
    expect(new Set(seen.map((r) => JSON.parse(r.body).vote))).toEqual(new Set(["a", "b"]))
  })
})
