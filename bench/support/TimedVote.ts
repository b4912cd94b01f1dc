import { type Agent, request } from "node:http"

/**
 * Casts one vote over plain `node:http` and resolves with `performance.now()`
 * at its 202 answer: the start of a vote-to-visible measurement.
 */
export const castTimedVote = (voteUrl: string, option: string, agent?: Agent) =>
  new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ vote: option })
    const req = request(
      `${voteUrl}/api/vote`,
      {
        method: "POST",
        ...(agent === undefined ? {} : { agent }),
        headers: { "content-type": "application/json", "content-length": body.length }
      },
      (response) => {
        const answeredAt = performance.now()
        response.resume()
        if (response.statusCode === 202) resolve(answeredAt)
        else reject(new Error(`vote answered ${response.statusCode}`))
      }
    )
    req.on("error", reject)
    req.end(body)
  })
