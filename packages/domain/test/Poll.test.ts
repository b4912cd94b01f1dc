import { assert, describe, it } from "@effect/vitest"
import { Poll, parsePollOptions } from "../src/Poll.ts"

describe("parsePollOptions", () => {
  it("reads id=Label pairs in order, trimming spaces", () => {
    const options = parsePollOptions(" a = Cats , b=Dogs,c-3=Fish & Chips ")
    assert.deepStrictEqual(Array.isArray(options) ? options.map((o) => [o.id, o.label]) : options, [
      ["a", "Cats"],
      ["b", "Dogs"],
      ["c-3", "Fish & Chips"]
    ])
  })

  it.each([
    ["a=Cats", "expected 2 to 8 options, found 1"],
    ["a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9", "expected 2 to 8 options, found 9"],
    ["a=Cats,Dogs", '"Dogs" is not an id=Label pair'],
    ["a=Cats,=Dogs", '"=Dogs" is not an id=Label pair'],
    ["a=Cats,B=Dogs", 'option id "B" is not [a-z0-9-]{1,32}'],
    [`a=Cats,${"x".repeat(33)}=Dogs`, `option id "${"x".repeat(33)}" is not [a-z0-9-]{1,32}`],
    ["a=Cats,b=", 'option "b" has an empty label'],
    ["a=Cats,a=Dogs", 'option id "a" appears twice']
  ])("refuses %j: %s", (text, reason) => {
    assert.strictEqual(parsePollOptions(text), reason)
  })

  it("finds an option by id", () => {
    const options = parsePollOptions("a=Cats,b=Dogs")
    assert.isTrue(Array.isArray(options))
    const poll = new Poll({ title: "Pets", options: options as Array<never> })
    assert.strictEqual(poll.option("b")?.label, "Dogs")
    assert.isUndefined(poll.option("c"))
  })
})
