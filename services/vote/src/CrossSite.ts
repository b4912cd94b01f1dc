import type { RequestHeaders } from "@voting/platform"

/**
 * True when a state-changing request comes from another site. Browsers say so
 * in `Sec-Fetch-Site`; older ones send `Origin`, which must match the host the
 * request was addressed to: its `Host` header, which the browser writes and no
 * page can change. Never `X-Forwarded-Host`: any client can send that one, and
 * the Ingress (Traefik) passes `Host` through unchanged anyway. A request with
 * neither header (curl, a load generator) is no browser acting for someone
 * else, so it passes.
 */
export const isCrossSite = (headers: RequestHeaders): boolean => {
  const site = headers["sec-fetch-site"]
  if (site !== undefined) return site !== "same-origin" && site !== "none"
  const origin = headers.origin
  if (origin === undefined) return false
  if (!URL.canParse(origin)) return true
  return new URL(origin).host !== headers.host
}
