// Keeps the results page current from the server's event stream. Rows are
// updated in place, so the bars glide to their new length and a screen reader
// hears only the row that changed. The page says so while it is disconnected
// and reconnects by itself, also after the server refused a reconnection
// (EventSource gives up for good then).
;(() => {
  const list = document.getElementById("results")
  const total = document.getElementById("total")
  const empty = document.getElementById("empty")
  const title = document.getElementById("title")
  const connection = document.getElementById("connection")

  const percent = (votes, sum) => (sum === 0 ? 0 : Math.round((votes / sum) * 100))
  const votesText = (votes) => `${votes} ${votes === 1 ? "vote" : "votes"}`

  // The same markup the server renders (ResultsPage.ts), built with textContent
  // only: labels come from configuration and are shown as text.
  const newRow = (id) => {
    const item = document.createElement("li")
    item.dataset.option = id
    item.setAttribute("aria-atomic", "true")
    const line = document.createElement("div")
    line.className = "result-row"
    const label = document.createElement("span")
    label.className = "label"
    const count = document.createElement("span")
    count.className = "count"
    line.append(label, count)
    const bar = document.createElement("progress")
    bar.max = 100
    bar.setAttribute("aria-hidden", "true")
    item.append(line, bar)
    return item
  }

  const setText = (element, text) => {
    if (element.textContent !== text) element.textContent = text
  }

  const updateRow = (item, option, sum) => {
    const share = percent(option.votes, sum)
    setText(item.querySelector(".label"), option.label)
    setText(item.querySelector(".count"), `${votesText(option.votes)} · ${share}%`)
    const bar = item.querySelector("progress")
    if (bar.value !== share) bar.value = share
    setText(bar, `${share}%`)
  }

  const render = (results) => {
    setText(title, results.title)
    document.title = `${results.title} · Results`
    const existing = new Map([...list.children].map((item) => [item.dataset.option, item]))
    const rows = results.options.map((option) => {
      const item = existing.get(option.id) ?? newRow(option.id)
      updateRow(item, option, results.total)
      return item
    })
    // Touch the list only when options came, went or moved (a poll change).
    const same = rows.length === list.children.length && rows.every((item, i) => list.children[i] === item)
    if (!same) list.replaceChildren(...rows)
    setText(total, String(results.total))
    setText(empty, "No votes yet.")
    empty.hidden = results.total !== 0
  }

  let source
  let retryDelay = 1000
  const connect = () => {
    source = new EventSource("/api/results/stream")
    source.addEventListener("results", (event) => render(JSON.parse(event.data)))
    source.addEventListener("open", () => {
      connection.hidden = true
      retryDelay = 1000
    })
    source.addEventListener("error", () => {
      connection.hidden = false
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay)
        retryDelay = Math.min(retryDelay * 2, 30000)
      }
    })
  }
  connect()
})()
