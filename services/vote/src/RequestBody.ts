import { ByteSize, Effect } from "effect"
import { HttpIncomingMessage, type HttpServerRequest } from "effect/http"
import { BodyTooLarge, UnreadableBody, UnsupportedMediaType } from "./Rejections.ts"

/** The contract's limit for a vote request body. */
export const maxBodyBytes = 16 * 1024

const mediaType = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? ""

/**
 * Reads a body of the expected media type, up to the limit. A declared length
 * over the limit is refused before reading; a chunked body is cut off at it.
 */
export const readBody = (request: HttpServerRequest.HttpServerRequest, expected: string) =>
  Effect.gen(function* () {
    if (mediaType(request) !== expected) return yield* new UnsupportedMediaType({ expected })
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBodyBytes) return yield* new BodyTooLarge()
    return yield* request.text.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBodyBytes)),
      Effect.catchTag("HttpServerError", (error) =>
        Effect.fail(
          error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
            ? new BodyTooLarge()
            : new UnreadableBody()
        )
      )
    )
  })
