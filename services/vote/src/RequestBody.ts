import type { IncomingMessage } from "node:http"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import type { HttpServerRequest } from "effect/http"
import { BodyTooLarge, UnreadableBody, UnsupportedMediaType } from "./Rejections.ts"

/** The contract's limit for a vote request body. */
export const maxBodyBytes = 16 * 1024

/** The media type of a Content-Type header, without parameters, in lower case. */
export const mediaTypeOf = (contentType: string | undefined) =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? ""

/**
 * Reads Node's request stream to its end, up to the limit, and calls `done`
 * once with the body as text or why it could not be read. Returns what stops
 * reading early (the caller went away). A chunked body is cut off at the limit.
 */
export const readNodeBody = (
  source: IncomingMessage,
  done: (body: string | BodyTooLarge | UnreadableBody) => void
): (() => void) => {
  const chunks: Array<Buffer> = []
  let size = 0
  const stop = () => {
    source.off("data", onData)
    source.off("end", onEnd)
    source.off("error", onUnreadable)
    source.off("close", onUnreadable)
  }
  function onData(chunk: Buffer) {
    size += chunk.length
    if (size > maxBodyBytes) {
      stop()
      source.pause()
      done(new BodyTooLarge())
    } else {
      chunks.push(chunk)
    }
  }
  function onEnd() {
    stop()
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
    done(body.toString("utf8"))
  }
  // An error, or a close before the end: the client went away or sent a broken body.
  function onUnreadable() {
    stop()
    done(new UnreadableBody())
  }
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onUnreadable)
  source.on("close", onUnreadable)
  return stop
}

/**
 * Reads a body of the expected media type, up to the limit. A declared length
 * over the limit is refused before reading; a chunked body is cut off at it.
 *
 * It reads Node's request stream itself: a vote body is one small chunk, and
 * the general reader (a cached effect run per request, then decoded) cost over
 * a third of a vote's CPU, most of it in garbage collection. What is left
 * unread after a refusal is the server adapter's to discard, as for any body.
 */
export const readBody = (
  request: HttpServerRequest.HttpServerRequest,
  expected: string
): Effect.Effect<string, UnsupportedMediaType | BodyTooLarge | UnreadableBody> => {
  if (mediaTypeOf(request.headers["content-type"]) !== expected) {
    return Effect.fail(new UnsupportedMediaType({ expected }))
  }
  if (Number(request.headers["content-length"] ?? "0") > maxBodyBytes) return Effect.fail(new BodyTooLarge())
  const source = NodeHttpServerRequest.toIncomingMessage(request) as IncomingMessage
  return Effect.callback<string, BodyTooLarge | UnreadableBody>((resume) => {
    const stop = readNodeBody(source, (body) =>
      resume(typeof body === "string" ? Effect.succeed(body) : Effect.fail(body))
    )
    // The server holds back "100 Continue" until the body is wanted: it is wanted now.
    if (/100-continue/i.test(source.headers.expect ?? "")) {
      const response = NodeHttpServerRequest.toServerResponse(request)
      if (!response.headersSent) response.writeContinue()
    }
    return Effect.sync(stop)
  })
}
