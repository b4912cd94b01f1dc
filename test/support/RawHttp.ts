import { connect } from "node:net"

/** A response as it came off the socket: status line, headers and body unparsed by any client library. */
export interface RawResponse {
  readonly status: number
  readonly head: string
  readonly body: string
}

/**
 * Sends bytes exactly as given (no client to refuse or fix a bad header) and
 * reads until the server closes the connection.
 */
export const rawRequest = (port: number, request: string, timeoutMs = 5_000) =>
  new Promise<RawResponse>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port })
    let received = ""
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${JSON.stringify(received.slice(0, 300))}`))
    })
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1")
    })
    socket.on("error", reject)
    socket.on("close", () => {
      const split = received.indexOf("\r\n\r\n")
      const head = split < 0 ? received : received.slice(0, split)
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        head,
        body: split < 0 ? "" : received.slice(split + 4)
      })
    })
    socket.write(request)
  })
