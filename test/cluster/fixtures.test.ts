/**
 * Every rule can fail: each broken fixture is the real configuration with one
 * fault, and it must break exactly the rules it lists, with the message it lists.
 */
import { describe, expect, it } from "vitest"
import { runAllChecks } from "./support/Checks.ts"
import { loadFixtures, modelWithFault } from "./support/Fixtures.ts"

const files = [
  "schema.yaml",
  "policy.yaml",
  "crossref.yaml",
  "tiltfile.yaml",
  "ctlptl.yaml",
  "dockerfile.yaml",
  "store.yaml",
  "observability.yaml"
]

describe.each(files)("broken fixtures in %s", (file) => {
  it.each(loadFixtures(file).map((f) => [f.name, f] as const))("%s", async (_name, fixture) => {
    const { model, touched } = modelWithFault(fixture)
    const issues = await runAllChecks(model, touched)
    const broken = [...new Set(issues.map((i) => i.rule))].sort()
    const expected = [...new Set(fixture.expect.map((e) => e.rule))].sort()
    expect(broken, JSON.stringify(issues, null, 1)).toEqual(expected)
    for (const { rule, message } of fixture.expect) {
      expect(
        issues.filter((i) => i.rule === rule).map((i) => `${i.object}: ${i.message}`),
        `${rule} should say "${message}"`
      ).toEqual(expect.arrayContaining([expect.stringContaining(message)]))
    }
  })
})
