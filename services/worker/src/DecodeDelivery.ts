import {
  EntryId,
  MalformedMessage,
  maxMessageBytes,
  OptionId,
  type Poll,
  type QueuedVote,
  Vote,
  VoterId
} from "@voting/domain"
import { decodeTraceparent } from "@voting/platform"
import type { Delivery } from "@voting/queue"
import { DateTime, Schema, type Tracer } from "effect"

const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

const isVoterId = Schema.is(VoterId)
const isOptionId = Schema.is(OptionId)
const isEntryId = Schema.is(EntryId)

const malformed = (delivery: Delivery, reason: string) => new MalformedMessage({ entryId: delivery.id, reason })

const payloadBytes = (fields: Delivery["fields"]) => {
  let bytes = 0
  for (const key in fields) bytes += key.length + (fields[key]?.length ?? 0)
  return bytes
}

/**
 * The instant of the last `at` parsed. Votes queued in the same millisecond
 * carry the same text, and building the DateTime was a fifth of the worker's
 * decoding time, measured: a vote in a burst reuses its neighbour's.
 */
let lastAt = ""
let lastInstant: DateTime.Utc | undefined

const instantOf = (at: string): DateTime.Utc | undefined => {
  if (at === lastAt) return lastInstant
  const millis = isoInstant.test(at) ? Date.parse(at) : Number.NaN
  lastAt = at
  lastInstant = Number.isNaN(millis) ? undefined : DateTime.makeUnsafe(millis)
  return lastInstant
}

/**
 * Turns a queue entry into a vote, or says exactly why it is not one. Checked
 * by hand rather than by a full schema decode: this runs for every vote, and
 * the reason goes into the dead-letter entry for a person to read.
 */
export const decodeDelivery = (delivery: Delivery, poll: Poll): QueuedVote | MalformedMessage => {
  const { fields } = delivery
  if (!isEntryId(delivery.id)) return malformed(delivery, "the entry id is not <ms>-<seq>")
  if (payloadBytes(fields) > maxMessageBytes) return malformed(delivery, `the payload is over ${maxMessageBytes} bytes`)
  const { voter, option, at } = fields
  if (voter === undefined || option === undefined || at === undefined) {
    const missing = ["voter", "option", "at"].filter((name) => fields[name] === undefined)
    return malformed(delivery, `missing field(s): ${missing.join(", ")}`)
  }
  if (!isVoterId(voter)) return malformed(delivery, "voter is not a valid voter id")
  if (!isOptionId(option) || poll.option(option) === undefined) {
    return malformed(delivery, `option "${option.slice(0, 40)}" is not an option of the poll`)
  }
  const acceptedAt = instantOf(at)
  if (acceptedAt === undefined) return malformed(delivery, "at is not an ISO 8601 instant")
  // Every field was checked above, so the class need not check them again.
  const vote = new Vote({ voterId: voter, option, acceptedAt }, { disableChecks: true })
  return { entryId: delivery.id, vote }
}

/**
 * The span that queued the entry, from its `traceparent` field, or undefined:
 * a missing or malformed one (an old entry, another producer) only means the
 * vote is not linked to its trace. It never makes the entry malformed.
 */
export const deliveryTrace = (delivery: Delivery): Tracer.ExternalSpan | undefined =>
  decodeTraceparent(delivery.fields.traceparent)
