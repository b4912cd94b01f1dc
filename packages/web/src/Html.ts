const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Makes text safe inside HTML content and quoted attributes: configured labels are text, never markup. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => escapes[char] as string)

/**
 * The frame both services' pages share. Styles and scripts come from the
 * service itself, so the pages work offline and under a CSP with no inline
 * code.
 */
export const page = (options: {
  readonly title: string
  readonly body: string
  readonly scripts?: ReadonlyArray<string>
}): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(options.title)}</title>
<link rel="stylesheet" href="/assets/app.css">
${(options.scripts ?? []).map((src) => `<script src="${escapeHtml(src)}" defer></script>`).join("\n")}
</head>
<body>
${options.body}
</body>
</html>
`
