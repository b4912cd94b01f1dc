/**
 * The yardstick: a bare `node:http` server that reads the request body and
 * answers 202 with a small JSON body, doing no other work. The vote service's
 * throughput is reported as a fraction of this one's under the same load.
 */
import { createServer } from "node:http"

const body = JSON.stringify({ voterId: "AAAAAAAAAAAAAAAAAAAAAA", vote: "a" })

const server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
  if (request.url === "/livez") {
    response.writeHead(200, { "content-type": "text/plain" }).end("ok")
    return
  }
  request.resume()
  request.on("end", () => {
    response.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body)
  })
})

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1")
process.on("SIGTERM", () => process.exit(0))
