import { assert, describe, it } from "@effect/vitest"
import { type EntryId, MalformedMessage } from "@voting/domain"
import { pollOf } from "@voting/test-support/Polls"
import { decodeDelivery, deliveryTrace } from "../src/DecodeDelivery.ts"

const poll = pollOf("Pets", "a=Cats,b=Dogs")
const voter = "AbCdEfGhIjKlMnOpQrStUv"
const at = "2026-11-22T10:00:00.123Z"
const delivery = (fields: Record<string, string>, id = "1732260000000-3") => ({ id: id as EntryId, fields })

describe("decodeDelivery", () => {
  it("turns a well-formed entry into a vote ordered by its entry id", () => {
    const decoded = decodeDelivery(delivery({ voter, option: "b", at }), poll)
    assert.notInstanceOf(decoded, MalformedMessage)
    if (decoded instanceof MalformedMessage) return
    assert.strictEqual(decoded.entryId, "1732260000000-3")
    assert.strictEqual(decoded.vote.voterId, voter)
    assert.strictEqual(decoded.vote.option, "b")
    assert.strictEqual(decoded.vote.acceptedAt.epochMilliseconds, Date.parse(at))
  })

  it.each([
    ["missing fields", { voter }, "missing field(s): option, at"],
    ["a bad voter id", { voter: "short", option: "a", at }, "voter is not a valid voter id"],
    ["an unknown option", { voter, option: "c", at }, 'option "c" is not an option of the poll'],
    ["an option with markup", { voter, option: "<script>", at }, 'option "<script>" is not an option of the poll'],
    ["a bad instant", { voter, option: "a", at: "yesterday" }, "at is not an ISO 8601 instant"],
    ["an impossible date", { voter, option: "a", at: "2026-13-45T99:00:00Z" }, "at is not an ISO 8601 instant"],
    ["a huge payload", { voter, option: "a", at, junk: "x".repeat(5000) }, "the payload is over 1024 bytes"]
  ])("dead-letters %s with the reason", (_, fields, reason) => {
    const decoded = decodeDelivery(delivery(fields as Record<string, string>), poll)
    assert.instanceOf(decoded, MalformedMessage)
    assert.strictEqual((decoded as MalformedMessage).reason, reason)
  })
})

describe("deliveryTrace", () => {
  const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

  it("reads the span that queued the entry from its traceparent", () => {
    assert.deepInclude(deliveryTrace(delivery({ voter, option: "a", at, traceparent })), {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true
    })
  })

  it.each([
    ["no traceparent (an old entry, another producer)", {}],
    ["a malformed one", { traceparent: "garbage" }],
    ["an all-zero trace id", { traceparent: `00-${"0".repeat(32)}-00f067aa0ba902b7-01` }],
    ["a long one", { traceparent: `${traceparent}-${"x".repeat(400)}` }]
  ])("finds no context in an entry with %s, and the vote is still a vote", (_, extra) => {
    const entry = delivery({ voter, option: "a", at, ...extra })
    assert.isUndefined(deliveryTrace(entry))
    assert.notInstanceOf(decodeDelivery(entry, poll), MalformedMessage)
  })
})
