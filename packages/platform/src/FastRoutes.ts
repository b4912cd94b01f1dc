import type { IncomingMessage, ServerResponse } from "node:http"
import { Context, Option } from "effect"
import { Cookies, type HttpServerResponse } from "effect/http"

/**
 * A route answered on Node's request and response directly, inside the same
 * server and before the Effect router sees the request. It returns false,
 * having touched neither, to leave the request to the router, which then
 * answers it as usual: a fast route takes only the requests it can answer
 * exactly as its router twin would, and leaves every other one (an unusual
 * header, a refusal decided before the body is read) to the router.
 */
export type FastRoute = (request: IncomingMessage, response: ServerResponse) => boolean

/**
 * Where a route layer registers a fast route for one method and exact path
 * (no query string). The default registers nothing: served without a fast
 * table (a unit test's bare router, a tracer configured), every request goes
 * through the router, so a fast route must always have a router twin.
 */
export interface FastRouteTable {
  readonly add: (method: string, path: string, route: FastRoute) => void
}

export const FastRoutes = Context.Reference<FastRouteTable>("@voting/platform/FastRoutes", {
  defaultValue: () => ({ add: () => undefined })
})

/** A table the server consults for each request: `dispatch` is true when a fast route took it. */
export const makeFastRouteTable = () => {
  // By path, then method: one Map lookup on the URL Node already has, no string built per request.
  const routes = new Map<string, Map<string, FastRoute>>()
  return {
    add: (method: string, path: string, route: FastRoute) => {
      const byMethod = routes.get(path) ?? new Map<string, FastRoute>()
      byMethod.set(method, route)
      routes.set(path, byMethod)
    },
    dispatch: (request: IncomingMessage, response: ServerResponse): boolean => {
      if (routes.size === 0) return false
      const route = routes.get(request.url ?? "")?.get(request.method ?? "")
      return route?.(request, response) ?? false
    }
  }
}

/** The headers a request arrived with, by lower-case name, as a fast route reads them. */
export type RequestHeaders = { readonly [name: string]: string | undefined }

/**
 * Node's request headers as the shared request checks read them. Node gives
 * every header they read (Cookie, Content-Type, Origin, X-Forwarded-*) as one
 * string, repeated ones joined as its docs say; only Set-Cookie, which a
 * request does not carry, would be an array.
 */
export const nodeRequestHeaders = (request: IncomingMessage): RequestHeaders => request.headers as RequestHeaders

/** The socket's peer address as the Effect request gives it, for the per-client rules. */
export const nodeRemoteAddress = (request: IncomingMessage): Option.Option<string> =>
  Option.fromUndefinedOr(request.socket.remoteAddress)

/**
 * Writes an Effect response with a body in memory (text, bytes or none) to
 * Node's response: status, headers, cookies and body, as the Node adapter
 * writes it. For a fast route's rarer answers (its refusals), built by the
 * same code as its router twin's.
 */
export const writeNodeResponse = (response: ServerResponse, answer: HttpServerResponse.HttpServerResponse) => {
  const headers: Record<string, string | Array<string>> = { ...answer.headers }
  if (!Cookies.isEmpty(answer.cookies)) headers["set-cookie"] = Cookies.toSetCookieHeaders(answer.cookies)
  const body = answer.body
  if (body._tag === "Uint8Array") {
    headers["content-type"] ??= body.contentType
    headers["content-length"] = String(body.contentLength)
    response.writeHead(answer.status, headers).end(body.text ?? body.body)
  } else {
    if (body._tag !== "Empty") throw new Error(`a fast route answers from memory, not with a ${body._tag} body`)
    response.writeHead(answer.status, headers).end()
  }
}
