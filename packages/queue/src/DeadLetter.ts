import type { Delivery } from "./VoteQueue.ts"

/** Dead letters keep this much of a payload: enough to see what it was, not enough to hurt. */
export const deadLetterPayloadLimit = 512

/** What a dead letter keeps of an entry's fields. */
export const deadLetterPayload = (delivery: Delivery): string =>
  JSON.stringify(delivery.fields).slice(0, deadLetterPayloadLimit)
