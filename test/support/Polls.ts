import { Poll, parsePollOptions } from "@voting/domain"

/** A poll from the same `id=Label,...` text POLL_OPTIONS holds. */
export const pollOf = (title: string, options: string): Poll => {
  const parsed = parsePollOptions(options)
  if (typeof parsed === "string") throw new Error(`bad test poll: ${parsed}`)
  return new Poll({ title, options: parsed })
}
