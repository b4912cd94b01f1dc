import type { Poll } from "@voting/domain"
import { escapeHtml, page } from "@voting/web"

export interface VotePageModel {
  readonly poll: Poll
  readonly choice: string | undefined
  readonly instance: string
  /** The results page as voters reach it, for the link under the ballot. */
  readonly resultsUrl: string
  readonly error?: string | undefined
}

/**
 * The ballot: a plain form with one submit button per option, so it works
 * without JavaScript. The current choice is `aria-pressed`; its visible mark is
 * hidden from screen readers so the button's name stays the option's label.
 */
export const votePage = ({ poll, choice, instance, resultsUrl, error }: VotePageModel): string => {
  const chosen = choice === undefined ? undefined : poll.option(choice)
  const buttons = poll.options
    .map((option) => {
      const pressed = option.id === chosen?.id
      return `<button class="option" type="submit" name="vote" value="${escapeHtml(option.id)}" aria-pressed="${pressed}">${escapeHtml(option.label)}${pressed ? '<span class="mark" aria-hidden="true">✓ your vote</span>' : ""}</button>`
    })
    .join("\n")
  const status = chosen
    ? `You voted for <strong>${escapeHtml(chosen.label)}</strong>. You can change your vote at any time.`
    : "Pick one. You can change your vote later."
  return page({
    title: poll.title,
    body: `<main>
<h1 id="question">${escapeHtml(poll.title)}</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/">
<fieldset class="options" aria-labelledby="question">
${buttons}
</fieldset>
</form>
<p class="status" role="status">${status}</p>
<p><a href="${escapeHtml(resultsUrl)}">See the results</a></p>
<footer>Served by ${escapeHtml(instance)}</footer>
</main>`
  })
}

/** A page for a vote that was not taken: says why plainly and offers the ballot again. */
export const problemPage = (options: { readonly title: string; readonly message: string; readonly poll?: Poll }) =>
  page({
    title: options.title,
    body: `<main>
<h1>${escapeHtml(options.title)}</h1>
<p class="error" role="alert">${escapeHtml(options.message)}</p>
${
  options.poll
    ? `<p>Valid options: ${options.poll.options.map((o) => `<code>${escapeHtml(o.id)}</code> (${escapeHtml(o.label)})`).join(", ")}.</p>`
    : ""
}
<p><a href="/">Back to the vote</a></p>
</main>`
  })
