import { HttpServerResponse } from "effect/http"

/**
 * Sent with every page. Nothing may load from anywhere but the service itself,
 * no inline script or style runs, forms post only back to it, and no other
 * site may frame it.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join("; ")

export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin"
}

const pageHeaders: Readonly<Record<string, string>> = { ...securityHeaders, "cache-control": "no-store" }

/**
 * Sent with every JSON and problem+json answer: it says how things are now, so
 * no cache keeps it, and no browser reads it as another type. (The health
 * routes send the same two.)
 */
export const apiHeaders: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff"
}

/** A page of either service: HTML, never cached, with the security headers above. */
export const htmlResponse = (body: string, status = 200) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })
