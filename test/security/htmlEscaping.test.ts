import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Deployment, startDeployment } from "../support/Deployment.ts"
import type { RunningComponent } from "../support/Processes.ts"

/** Configured labels and titles are text: markup in them is shown, never run. */
describe("pages escape the configured title and labels", () => {
  const title = `<script>alert("title")</script> & "friends"`
  const markupLabel = `<img src=x onerror=alert(1)>`
  let deployment: Deployment
  let vote: RunningComponent
  let result: RunningComponent

  beforeAll(async () => {
    deployment = await startDeployment({ pollTitle: title, pollOptions: `a=${markupLabel},b=<b>Dogs</b> 'n' "cats"` })
    ;[vote, result] = await Promise.all([deployment.start("vote"), deployment.start("result")])
  }, 120_000)

  afterAll(async () => {
    await deployment?.tearDown()
  }, 60_000)

  const pages = async () => {
    const refusal = await fetch(`${vote.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "vote=zebra"
    })
    expect(refusal.status).toBe(400)
    return {
      ballot: await (await fetch(`${vote.url}/`)).text(),
      refusal: await refusal.text(),
      results: await (await fetch(`${result.url}/`)).text()
    }
  }

  it("shows markup in labels and the title as text on the ballot, the refusal page and the results page", async () => {
    for (const [name, html] of Object.entries(await pages())) {
      expect(html, name).not.toContain("<script>alert")
      expect(html, name).not.toContain("<img src=x")
      expect(html, name).not.toContain("<b>Dogs</b>")
      expect(html, name).toContain("&lt;img src=x onerror=alert(1)&gt;")
      expect(html, name).toContain("&lt;b&gt;Dogs&lt;/b&gt; &#39;n&#39; &quot;cats&quot;")
    }
    const { ballot, results } = await pages()
    expect(ballot).toContain("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; &quot;friends&quot;")
    expect(results).toContain("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; &quot;friends&quot;")
  })

  it("sends the labels as JSON strings to the live page, which renders them with textContent", async () => {
    const api = (await (await fetch(`${result.url}/api/results`)).json()) as { options: Array<{ label: string }> }
    expect(api.options[0]?.label).toBe(markupLabel)
    const script = await (await fetch(`${result.url}/assets/results.js`)).text()
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
  })
})
