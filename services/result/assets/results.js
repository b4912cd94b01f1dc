// Keeps the results page current from the server's event stream. EventSource
// reconnects by itself; the page says so while it is disconnected.
"use strict"
;(() => {
  const list = document.getElementById("results")
  const total = document.getElementById("total")
  const empty = document.getElementById("empty")
  const title = document.getElementById("title")
  const connection = document.getElementById("connection")

  const percent = (votes, sum) => (sum === 0 ? 0 : Math.round((votes / sum) * 100))
  const votesText = (votes) => `${votes} ${votes === 1 ? "vote" : "votes"}`

  // Built with textContent only: labels come from configuration and are shown as text.
  const row = (option, sum) => {
    const share = percent(option.votes, sum)
    const item = document.createElement("li")
    item.dataset.option = option.id
    const line = document.createElement("div")
    line.className = "result-row"
    const label = document.createElement("span")
    label.className = "label"
    label.textContent = option.label
    const count = document.createElement("span")
    count.className = "count"
    count.textContent = `${votesText(option.votes)} · ${share}%`
    line.append(label, count)
    const bar = document.createElement("progress")
    bar.max = 100
    bar.value = share
    bar.setAttribute("aria-label", `${option.label}: ${share}%`)
    bar.textContent = `${share}%`
    item.append(line, bar)
    return item
  }

  const render = (results) => {
    title.textContent = results.title
    document.title = `${results.title} · Results`
    list.replaceChildren(...results.options.map((option) => row(option, results.total)))
    total.textContent = String(results.total)
    empty.textContent = "No votes yet."
    empty.hidden = results.total !== 0
  }

  const source = new EventSource("/api/results/stream")
  source.addEventListener("results", (event) => render(JSON.parse(event.data)))
  source.addEventListener("open", () => {
    connection.hidden = true
  })
  source.addEventListener("error", () => {
    connection.hidden = false
  })
})()
