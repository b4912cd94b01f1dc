import { type ClientRequest, request } from "node:http"
import { takeResultsEvents } from "../../test/support/ResultsEvents.ts"

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
        const { events, rest } = takeResultsEvents<ResultsEvent["data"]>(buffer + chunk)
        buffer = rest
        for (const data of events) {
          const event: ResultsEvent = { receivedAt: performance.now(), data }
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
