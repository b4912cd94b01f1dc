import { BlockList, isIPv4, isIPv6 } from "node:net"
import { Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import type { RequestHeaders } from "./FastRoutes.ts"

/**
 * Who a request comes from, for per-client limits: the address of the socket
 * it arrived on, or, when that peer is a proxy this app trusts, the address
 * the proxies say they were sent from (`X-Forwarded-For`). One rule for every
 * component, so a client is the same client to the vote and the result service.
 */

/**
 * The peers whose `X-Forwarded-For` is believed: TRUSTED_PROXIES, CIDR ranges
 * (IPv4 and IPv6) separated by commas, e.g. `10.244.0.0/16,fd00::/8`. A bare
 * address is a range of one. `none` trusts nobody, which is the default.
 */
export class TrustedProxies {
  private readonly list = new BlockList()
  /** The ranges as given, normalised to `address/prefix`. */
  readonly ranges: ReadonlyArray<string>

  constructor(ranges: ReadonlyArray<string>) {
    this.ranges = ranges
    for (const range of ranges) {
      const [address = "", prefix = ""] = range.split("/")
      this.list.addSubnet(address, Number(prefix), isIPv4(address) ? "ipv4" : "ipv6")
    }
  }

  static readonly none = new TrustedProxies([])

  get isEmpty(): boolean {
    return this.ranges.length === 0
  }

  /** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) is in one of the ranges. */
  contains(address: string): boolean {
    if (this.ranges.length === 0) return false
    if (isIPv4(address)) return this.list.check(address, "ipv4")
    return isIPv6(address) && this.list.check(address, "ipv6")
  }
}

/**
 * One range of TRUSTED_PROXIES as `address/prefix`, or the words saying what
 * is wrong with it.
 */
export const parseRange = (raw: string): string | { readonly problem: string } => {
  const text = raw.trim()
  const slash = text.indexOf("/")
  const address = slash < 0 ? text : text.slice(0, slash)
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1)
  const width = isIPv4(address) ? 32 : isIPv6(address) && !address.includes("%") ? 128 : 0
  const refused = { problem: `"${text.slice(0, 50)}" is not an address or CIDR range (like 10.244.0.0/16 or fd00::/8)` }
  if (width === 0) return refused
  if (prefixText === undefined) return `${address}/${width}`
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return refused
  return `${address}/${Number(prefixText)}`
}

/** TRUSTED_PROXIES as a list of ranges, or the problem with the first bad one. */
export const parseTrustedProxies = (raw: string): TrustedProxies | { readonly problem: string } => {
  if (raw.trim().toLowerCase() === "none") return TrustedProxies.none
  const ranges: Array<string> = []
  for (const item of raw.split(",")) {
    if (item.trim() === "") return { problem: "has an empty range between commas" }
    const range = parseRange(item)
    if (typeof range !== "string") return range
    ranges.push(range)
  }
  return new TrustedProxies(ranges)
}

/** The codec for TRUSTED_PROXIES, for AppConfig. */
export const TrustedProxiesValue: Schema.Codec<TrustedProxies, string> = Schema.String.pipe(
  Schema.decodeTo(
    Schema.instanceOf(TrustedProxies),
    SchemaTransformation.transformEffect<TrustedProxies, string>({
      decode: (raw) => {
        const parsed = parseTrustedProxies(raw)
        return parsed instanceof TrustedProxies
          ? Effect.succeed(parsed)
          : Effect.fail(new SchemaIssue.InvalidValue({ message: parsed.problem }))
      },
      encode: (trusted) => Effect.succeed(trusted.isEmpty ? "none" : trusted.ranges.join(","))
    })
  )
)

const mappedPrefix = "::ffff:"

/**
 * An address as a key: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
 * dual-stack socket reports for an IPv4 peer) as plain IPv4, a bracketed or
 * ported one (`[2001:db8::1]:443`, `10.0.0.1:5000`) without the brackets and
 * port; undefined when it is not an address at all.
 */
export const normaliseAddress = (raw: string): string | undefined => {
  let address = raw.trim()
  if (address.startsWith("[")) {
    const end = address.indexOf("]")
    if (end < 0) return undefined
    address = address.slice(1, end)
  } else {
    // One colon only: IPv4 with a port.
    const colon = address.indexOf(":")
    if (colon >= 0 && colon === address.lastIndexOf(":")) address = address.slice(0, colon)
  }
  if (address.length > 7 && address.slice(0, 7).toLowerCase() === mappedPrefix && isIPv4(address.slice(7))) {
    return address.slice(7)
  }
  return isIPv4(address) || isIPv6(address) ? address : undefined
}

/** What an address-less request (a closed socket) is counted as: all such requests share one key. */
export const unknownClient = "unknown"

/**
 * The client of a request, from its socket's peer address and its
 * `X-Forwarded-For` header (several headers joined with commas, as Node does):
 *
 * - when the peer is not a trusted proxy, the peer: a header it sent is not
 *   believed, since any client can write one;
 * - when it is, the header is read from the right (each proxy appends the
 *   address it was reached from) past every trusted proxy: the rightmost
 *   untrusted address is the client. Everything left of it was written by the
 *   client or by proxies nobody vouches for, so it is never read;
 * - when every address in it is trusted, the leftmost; when the walk meets
 *   something that is not an address, the last trusted hop it passed (the
 *   peer if none): never a value a client could vary freely.
 */
export const clientAddress = (
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: TrustedProxies
): string => {
  const direct = peer === undefined ? undefined : normaliseAddress(peer)
  if (direct === undefined) return unknownClient
  if (forwardedFor === undefined || !trusted.contains(direct)) return direct
  let client = direct
  let end = forwardedFor.length
  while (end > 0) {
    const start = forwardedFor.lastIndexOf(",", end - 1)
    const hop = normaliseAddress(forwardedFor.slice(start + 1, end))
    if (hop === undefined) return client
    client = hop
    if (!trusted.contains(hop)) return hop
    end = start < 0 ? 0 : start
  }
  return client
}

/**
 * What the per-client rules read of a request: its socket's peer address and
 * its headers. An Effect server request is one; a fast route (FastRoutes.ts)
 * makes one from Node's request.
 */
export interface ClientRequest {
  readonly remoteAddress: Option.Option<string>
  readonly headers: RequestHeaders
}

/**
 * The client of a server request by the rule above. With no trusted proxy
 * the header is not read and the socket's address, which Node has already
 * checked, is only unmapped.
 */
export const requestClient = (request: ClientRequest, trusted: TrustedProxies): string => {
  const peer = request.remoteAddress
  if (Option.isNone(peer)) return unknownClient
  if (trusted.isEmpty) return isMappedIPv4(peer.value) ? peer.value.slice(mappedPrefix.length) : peer.value
  return clientAddress(peer.value, request.headers["x-forwarded-for"], trusted)
}

/** Whether a socket's address (as Node reports it: lower case, no brackets or port) is IPv4-mapped IPv6. */
const isMappedIPv4 = (address: string) => address.startsWith(mappedPrefix) && address.includes(".", mappedPrefix.length)

/**
 * The key a per-client limit counts a request under: `clientKey` of its
 * client. With no trusted proxy (the common case, and the vote hot path) that
 * is the socket's address string itself, as Node keeps it for the connection:
 * not copied, so a Map finds it by the hash V8 has already computed. An IPv4
 * client is then either always `1.2.3.4` or always `::ffff:1.2.3.4` (the one
 * form a listening socket reports), so it is still one key.
 */
export const requestClientKey = (request: ClientRequest, trusted: TrustedProxies): string => {
  if (!trusted.isEmpty) return clientKey(requestClient(request, trusted))
  const peer = request.remoteAddress
  if (Option.isNone(peer)) return unknownClient
  const address = peer.value
  return address.includes(":") && !isMappedIPv4(address) ? clientKey(address) : address
}

/**
 * The key a per-client limit counts under: an IPv4 address as it is, an IPv6
 * address by its /64 network, since one host or home is usually given a whole
 * /64 and could otherwise take a new address for every request.
 */
export const clientKey = (address: string): string => {
  if (!address.includes(":")) return address
  const groups = ipv6Groups(address)
  return groups === undefined ? address : `${groups.slice(0, 4).join(":")}::/64`
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
const ipv6Groups = (address: string): Array<string> | undefined => {
  const bare = address.split("%")[0] ?? ""
  if (!isIPv6(bare)) return undefined
  const [head = "", tail] = bare.split("::")
  const part = (text: string) =>
    text === ""
      ? []
      : text.split(":").flatMap((group) => {
          if (!group.includes(".")) return [Number.parseInt(group, 16).toString(16)]
          const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number)
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
        })
  const left = part(head)
  const right = tail === undefined ? [] : part(tail)
  return [...left, ...Array.from({ length: 8 - left.length - right.length }, () => "0"), ...right]
}
