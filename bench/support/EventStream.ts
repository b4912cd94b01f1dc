import { type ClientRequest, request } from "node:http"

export interface ResultsEvent {
  readonly receivedAt: number
  readonly data: {
    readonly total: number
    readonly options: ReadonlyArray<{ readonly id: string; readonly votes: number }>
  }
}

export interface EventStreamClient {
  /** The latest `results` event, if any came yet. */
  readonly latest: () => ResultsEvent | undefined
  /** Resolves with the first event (already received or not) that satisfies `test`. */
  readonly waitFor: (test: (event: ResultsEvent) => boolean, timeoutMs?: number) => Promise<ResultsEvent>
  readonly close: () => void
}

/**
 * A minimal `text/event-stream` reader for `GET /api/results/stream`: keeps
 * the latest `results` event, stamped with `performance.now()` as it is parsed.
 */
export const openEventStream = (url: string): Promise<EventStreamClient> =>
  new Promise((resolve, reject) => {
    let latest: ResultsEvent | undefined
    let waiters: Array<{ test: (event: ResultsEvent) => boolean; done: (event: ResultsEvent) => void }> = []
    let buffer = ""
    let opened = false
    const req: ClientRequest = request(url, { headers: { accept: "text/event-stream" }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`${url} answered ${response.statusCode}`))
        response.resume()
        return
      }
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        buffer += chunk
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          let name = "message"
          let data = ""
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim()
            else if (line.startsWith("data:")) data += line.slice(5).trim()
          }
          if (name !== "results" || data === "") continue
          const event: ResultsEvent = { receivedAt: performance.now(), data: JSON.parse(data) }
          latest = event
          waiters = waiters.filter((waiter) => {
            if (!waiter.test(event)) return true
            waiter.done(event)
            return false
          })
        }
      })
      if (!opened) {
        opened = true
        resolve(client)
      }
    })
    req.on("error", (error) => {
      if (!opened) reject(error)
    })
    req.end()
    const client: EventStreamClient = {
      latest: () => latest,
      waitFor: (test, timeoutMs = 30_000) => {
        if (latest !== undefined && test(latest)) return Promise.resolve(latest)
        return new Promise((done, fail) => {
          const timer = setTimeout(
            () =>
              fail(
                new Error(
                  `no matching results event within ${timeoutMs} ms; the latest was ${JSON.stringify(latest?.data)}`
                )
              ),
            timeoutMs
          )
          waiters.push({
            test,
            done: (event) => {
              clearTimeout(timer)
              done(event)
            }
          })
        })
      },
      close: () => req.destroy()
    }
  })

/** Votes of one option in an event. */
export const votesFor = (event: ResultsEvent, option: string) =>
  event.data.options.find((candidate) => candidate.id === option)?.votes ?? 0
