import { assert, describe, it } from "@effect/vitest"
import { compareEntryIds, type EntryId, entryPosition } from "../src/EntryId.ts"

const id = (text: string) => text as EntryId

describe("EntryId", () => {
  it("orders by milliseconds, then by sequence, numerically rather than as text", () => {
    assert.isBelow(compareEntryIds(id("999-5"), id("1000-0")), 0)
    assert.isBelow(compareEntryIds(id("1000-2"), id("1000-10")), 0)
    assert.isAbove(compareEntryIds(id("1700000000001-0"), id("1700000000000-99")), 0)
    assert.strictEqual(compareEntryIds(id("5-5"), id("5-5")), 0)
  })

  it("splits into its two numbers", () => {
    assert.deepStrictEqual(entryPosition(id("1732260000000-42")), { ms: 1732260000000, seq: 42 })
  })
})
