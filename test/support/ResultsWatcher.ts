import { takeResultsEvents } from "./ResultsEvents.ts"

/** The JSON an event of the results stream carries. */
export interface StreamedResults {
  readonly options: ReadonlyArray<{ readonly id: string; readonly votes: number }>
  readonly total: number
}

/**
 * One client of `/api/results/stream` that keeps the latest results it was
 * sent, as a browser on the results page would.
 */
export const watchResults = async (resultUrl: string) => {
  const controller = new AbortController()
  const response = await fetch(`${resultUrl}/api/results/stream`, { signal: controller.signal })
  if (response.status !== 200 || response.body === null) throw new Error(`stream answered ${response.status}`)
  const state: { latest: StreamedResults | undefined; events: number; ended: boolean } = {
    latest: undefined,
    events: 0,
    ended: false
  }
  const reading = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ""
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        const { events, rest } = takeResultsEvents<StreamedResults>(buffered + value)
        buffered = rest
        for (const results of events) {
          state.latest = results
          state.events += 1
        }
      }
    } catch {
      // Aborted by close(), or the server ended the stream.
    } finally {
      state.ended = true
    }
  })()
  return {
    state,
    close: async () => {
      controller.abort()
      await reading
    }
  }
}
