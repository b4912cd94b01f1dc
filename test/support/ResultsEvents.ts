/**
 * Splits complete `text/event-stream` frames off a buffer and returns the data
 * of each `results` event, parsed, with the unfinished rest of the buffer.
 * Shared by every reader of `/api/results/stream` in the tests and the bench.
 */
export const takeResultsEvents = <A = unknown>(
  buffered: string
): { readonly events: Array<A>; readonly rest: string } => {
  const events: Array<A> = []
  let rest = buffered
  for (let end = rest.indexOf("\n\n"); end >= 0; end = rest.indexOf("\n\n")) {
    const frame = rest.slice(0, end)
    rest = rest.slice(end + 2)
    let name = "message"
    let data = ""
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim()
      else if (line.startsWith("data:")) data += line.slice(5).trim()
    }
    if (name === "results" && data !== "") events.push(JSON.parse(data) as A)
  }
  return { events, rest }
}
