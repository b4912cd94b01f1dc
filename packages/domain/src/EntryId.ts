import { Schema } from "effect"

/**
 * The queue's own id for a vote: `<milliseconds>-<sequence>`, as Redis Streams
 * assign them. Ids only grow, and every vote replica writes to the same stream,
 * so comparing them orders votes without trusting any replica's clock.
 */
export const EntryId = Schema.String.check(
  Schema.isPattern(/^\d{1,16}-\d{1,16}$/, { message: "an entry id is <milliseconds>-<sequence>" })
).pipe(Schema.brand("EntryId"))

export type EntryId = typeof EntryId.Type

/** The two numbers of an entry id, in the order they compare. */
export interface EntryPosition {
  readonly ms: number
  readonly seq: number
}

export const entryPosition = (id: EntryId): EntryPosition => {
  const dash = id.indexOf("-")
  return { ms: Number(id.slice(0, dash)), seq: Number(id.slice(dash + 1)) }
}

/** Negative when `a` was queued before `b`, zero when they are the same entry. */
export const compareEntryIds = (a: EntryId, b: EntryId): number => {
  const pa = entryPosition(a)
  const pb = entryPosition(b)
  return pa.ms - pb.ms || pa.seq - pb.seq
}
