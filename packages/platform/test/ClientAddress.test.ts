import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { trustedProxiesConfig } from "../src/AppConfig.ts"
import {
  clientAddress,
  clientKey,
  normaliseAddress,
  parseTrustedProxies,
  requestClient,
  requestClientKey,
  TrustedProxies,
  unknownClient
} from "../src/ClientAddress.ts"
import { ConfigSources } from "../src/ConfigSources.ts"

const trusted = (raw: string) => {
  const parsed = parseTrustedProxies(raw)
  if (!(parsed instanceof TrustedProxies)) throw new Error(parsed.problem)
  return parsed
}

describe("the client address", () => {
  it("is the socket's peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    assert.strictEqual(clientAddress("203.0.113.9", "198.51.100.1", TrustedProxies.none), "203.0.113.9")
    assert.strictEqual(clientAddress("203.0.113.9", undefined, TrustedProxies.none), "203.0.113.9")
  })

  it("ignores X-Forwarded-For from a peer outside the trusted ranges", () => {
    const proxies = trusted("10.244.0.0/16")
    assert.strictEqual(clientAddress("10.0.0.5", "198.51.100.1", proxies), "10.0.0.5")
    assert.strictEqual(clientAddress("::ffff:10.0.0.5", "198.51.100.1", proxies), "10.0.0.5")
  })

  it("is the rightmost untrusted address of X-Forwarded-For when the peer is trusted", () => {
    const proxies = trusted("10.244.0.0/16, fd00::/8")
    // The client wrote 1.1.1.1 itself; the first proxy appended the address it saw.
    assert.strictEqual(clientAddress("10.244.3.4", "1.1.1.1, 198.51.100.7", proxies), "198.51.100.7")
    // Two proxies in the chain, both trusted.
    assert.strictEqual(clientAddress("10.244.3.4", "1.1.1.1, 198.51.100.7, 10.244.0.9", proxies), "198.51.100.7")
    assert.strictEqual(clientAddress("fd00::1", "2001:db8::7, fd12::3", proxies), "2001:db8::7")
    // Several headers, joined by Node with commas, read as one list.
    assert.strictEqual(clientAddress("::ffff:10.244.3.4", "1.1.1.1,198.51.100.7", proxies), "198.51.100.7")
  })

  it("is the peer when a trusted peer sends no X-Forwarded-For", () => {
    assert.strictEqual(clientAddress("10.244.3.4", undefined, trusted("10.244.0.0/16")), "10.244.3.4")
    assert.strictEqual(clientAddress("10.244.3.4", "", trusted("10.244.0.0/16")), "10.244.3.4")
  })

  it("is the leftmost address when every hop is trusted", () => {
    assert.strictEqual(clientAddress("10.244.3.4", "10.244.1.1, 10.244.2.2", trusted("10.244.0.0/16")), "10.244.1.1")
  })

  it("stops at the last trusted hop when the walk meets something that is not an address", () => {
    const proxies = trusted("10.244.0.0/16")
    assert.strictEqual(clientAddress("10.244.3.4", "1.1.1.1, not-an-ip", proxies), "10.244.3.4")
    assert.strictEqual(clientAddress("10.244.3.4", "junk, 10.244.2.2", proxies), "10.244.2.2")
    assert.strictEqual(clientAddress("10.244.3.4", "1.1.1.1, , 10.244.2.2", proxies), "10.244.2.2")
  })

  it("reads addresses with a port or brackets, and IPv4-mapped IPv6 as IPv4", () => {
    assert.strictEqual(normaliseAddress(" 198.51.100.7:5123 "), "198.51.100.7")
    assert.strictEqual(normaliseAddress("[2001:db8::7]:443"), "2001:db8::7")
    assert.strictEqual(normaliseAddress("::FFFF:127.0.0.1"), "127.0.0.1")
    assert.strictEqual(normaliseAddress("2001:db8::7"), "2001:db8::7")
    assert.isUndefined(normaliseAddress("unknown"))
    assert.isUndefined(normaliseAddress("[2001:db8::7"))
    assert.strictEqual(clientAddress("10.244.3.4", "[2001:db8::7]:443", trusted("10.244.0.0/16")), "2001:db8::7")
  })

  it("is one shared key for a request with no peer address", () => {
    assert.strictEqual(clientAddress(undefined, "1.1.1.1", trusted("0.0.0.0/0")), unknownClient)
  })

  it("counts an IPv6 client by its /64", () => {
    assert.strictEqual(clientKey("198.51.100.7"), "198.51.100.7")
    assert.strictEqual(clientKey("2001:db8:0:12:a::1"), "2001:db8:0:12::/64")
    assert.strictEqual(clientKey("2001:0db8::1"), "2001:db8:0:0::/64")
    assert.strictEqual(clientKey("::1"), "0:0:0:0::/64")
    assert.strictEqual(clientKey("64:ff9b::198.51.100.7"), "64:ff9b:0:0::/64")
  })
})

describe("a server request's client", () => {
  const from = (address: string | undefined, forwardedFor?: string) =>
    HttpServerRequest.fromWeb(
      new Request(
        "http://app.test/",
        forwardedFor === undefined ? {} : { headers: { "x-forwarded-for": forwardedFor } }
      )
    ).modify({ remoteAddress: Option.fromUndefinedOr(address) })

  it("is found by the same rule, and keyed without copying the socket's address when nobody is trusted", () => {
    const proxies = trusted("127.0.0.1/32")
    assert.strictEqual(requestClient(from("::ffff:127.0.0.1", "198.51.100.7"), proxies), "198.51.100.7")
    assert.strictEqual(requestClient(from("::ffff:127.0.0.1", "198.51.100.7"), TrustedProxies.none), "127.0.0.1")
    assert.strictEqual(requestClientKey(from("::ffff:127.0.0.1", "2001:db8:1:2::7"), proxies), "2001:db8:1:2::/64")
    // Nobody trusted: the socket's string as it is, an IPv6 one by its /64.
    assert.strictEqual(
      requestClientKey(from("::ffff:127.0.0.1", "198.51.100.7"), TrustedProxies.none),
      "::ffff:127.0.0.1"
    )
    assert.strictEqual(requestClientKey(from("127.0.0.1"), TrustedProxies.none), "127.0.0.1")
    assert.strictEqual(requestClientKey(from("2001:db8:1:2::7"), TrustedProxies.none), "2001:db8:1:2::/64")
    assert.strictEqual(requestClientKey(from(undefined), TrustedProxies.none), unknownClient)
    assert.strictEqual(requestClient(from(undefined), proxies), unknownClient)
  })
})

describe("TRUSTED_PROXIES", () => {
  it("takes IPv4 and IPv6 ranges and bare addresses", () => {
    const proxies = trusted("10.244.0.0/16,fd00::/8, 192.0.2.1")
    assert.deepStrictEqual(proxies.ranges, ["10.244.0.0/16", "fd00::/8", "192.0.2.1/32"])
    assert.isTrue(proxies.contains("10.244.255.1"))
    assert.isTrue(proxies.contains("::ffff:10.244.255.1"))
    assert.isFalse(proxies.contains("10.245.0.1"))
    assert.isTrue(proxies.contains("fd12:3456::1"))
    assert.isFalse(proxies.contains("fe80::1"))
    assert.isTrue(proxies.contains("192.0.2.1"))
    assert.isFalse(proxies.contains("192.0.2.2"))
    assert.isFalse(proxies.contains("not-an-ip"))
    assert.isTrue(trusted("none").isEmpty)
  })

  it("refuses what is not a range, saying which", () => {
    for (const [raw, problem] of [
      ["10.244.0.0/33", '"10.244.0.0/33" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)'],
      ["fd00::/129", '"fd00::/129" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)'],
      ["10.244.0.0/", '"10.244.0.0/" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)'],
      ["pods", '"pods" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)'],
      ["10.0.0.0/8,,fd00::/8", "has an empty range between commas"]
    ] as const) {
      const parsed = parseTrustedProxies(raw)
      assert.deepStrictEqual(parsed instanceof TrustedProxies ? parsed.ranges : parsed, { problem })
    }
  })

  it.effect("is read as a key: unset trusts nobody; a bad value names key, place and problem", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        trustedProxiesConfig.pipe(Effect.provide(ConfigSources.layerFrom({ env })))
      assert.isTrue((yield* read({})).isEmpty)
      assert.deepStrictEqual((yield* read({ TRUSTED_PROXIES: "10.244.0.0/16" })).ranges, ["10.244.0.0/16"])
      const error = yield* Effect.flip(read({ TRUSTED_PROXIES: "10.244.0.0/16,everyone" }))
      assert.strictEqual(
        error.message,
        'config TRUSTED_PROXIES (environment variable TRUSTED_PROXIES): "everyone" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)'
      )
    })
  )
})
