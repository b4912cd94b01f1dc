import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { listeningAddresses, type NpmStart, nonLoopbackAddresses, startNpmStart } from "./support/NpmStart.ts"

/**
 * `npm start` serves plain HTTP, /metrics included: by default only this
 * machine reaches it (127.0.0.1); HOST opens it to the network. Checked from
 * outside the process: a connection to this machine's own non-loopback
 * address, and the kernel's list of listening sockets.
 */

/** The status of GET /livez at `host`, or the error's code when no connection could be made. */
const livez = async (host: string, port: number) => {
  try {
    return (await fetch(`http://${host}:${port}/livez`, { signal: AbortSignal.timeout(3_000) })).status
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause
    return cause?.code ?? String(error)
  }
}

const lan = nonLoopbackAddresses()

describe("npm start listens on this machine only unless HOST says otherwise", () => {
  let local: NpmStart
  let open: NpmStart

  beforeAll(async () => {
    ;[local, open] = await Promise.all([startNpmStart(), startNpmStart({ HOST: "0.0.0.0" })])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([local?.stop(), open?.stop()])
  }, 60_000)

  it("by default: both pages on 127.0.0.1, refused on the machine's other addresses, and the banner says so", async () => {
    for (const port of [local.votePort, local.resultPort]) {
      expect(await livez("127.0.0.1", port)).toBe(200)
      for (const address of lan) expect(await livez(address, port), `${address}:${port}`).toBe("ECONNREFUSED")
      // Where /proc tells: the only listening socket on the port is the loopback one.
      const listening = listeningAddresses(port)
      if (listening.length > 0) expect(listening).toEqual(["127.0.0.1"])
    }
    expect(local.output()).toMatch(/Listening\s+127\.0\.0\.1, this machine only/)
    expect(local.output()).toContain(`http://localhost:${local.votePort}/`)
  })

  it("with HOST=0.0.0.0: both pages answer on the machine's other addresses, and the banner warns", async () => {
    for (const port of [open.votePort, open.resultPort]) {
      expect(await livez("127.0.0.1", port)).toBe(200)
      for (const address of lan) expect(await livez(address, port), `${address}:${port}`).toBe(200)
      const listening = listeningAddresses(port)
      if (listening.length > 0) expect(listening).toEqual(["0.0.0.0"])
    }
    expect(open.output()).toMatch(/Listening\s+0\.0\.0\.0 \(HOST\): other machines can reach/)
  })

  it("has something to check it with: a non-loopback address, or the kernel's socket list", () => {
    expect(lan.length > 0 || listeningAddresses(local.votePort).length > 0).toBe(true)
  })
})
