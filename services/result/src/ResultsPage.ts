import type { Results } from "@voting/domain"
import { escapeHtml, page } from "@voting/web"

const percent = (votes: number, total: number) => (total === 0 ? 0 : Math.round((votes / total) * 100))

const votesText = (votes: number) => `${votes} ${votes === 1 ? "vote" : "votes"}`

/**
 * The results as HTML, complete without JavaScript; `results.js` then keeps
 * the same markup current from the event stream. Each row is read as a whole
 * when it changes (`aria-atomic`), so a live update says which option moved.
 * `voteUrl` is the ballot as voters reach it, for the link back to it.
 */
export const resultsPage = (results: Results | undefined, instance: string, voteUrl: string): string => {
  const total = results?.total ?? 0
  const rows = (results?.options ?? [])
    .map((option) => {
      const share = percent(option.votes, total)
      // The text says it all; the bar is its picture, hidden from screen readers so it is not read twice.
      return `<li data-option="${escapeHtml(option.id)}" aria-atomic="true">
<div class="result-row"><span class="label">${escapeHtml(option.label)}</span><span class="count">${votesText(option.votes)} · ${share}%</span></div>
<progress max="100" value="${share}" aria-hidden="true">${share}%</progress>
</li>`
    })
    .join("\n")
  const title = results?.title ?? "Results"
  return page({
    title: `${title} · Results`,
    scripts: ["/assets/results.js"],
    body: `<main>
<h1 id="title">${escapeHtml(title)}</h1>
<p id="connection" class="connection" role="status" hidden>Live updates paused: reconnecting…</p>
<ul id="results" class="results" aria-live="polite">
${rows}
</ul>
<p id="empty" class="empty"${total === 0 ? "" : " hidden"}>${results === undefined ? "Results are loading…" : "No votes yet."}</p>
<p class="total">Total voters: <strong id="total">${total}</strong></p>
<p><a href="${escapeHtml(voteUrl)}">Vote</a></p>
<footer>Served by ${escapeHtml(instance)} · updates live</footer>
</main>`
  })
}
