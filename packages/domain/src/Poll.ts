import { Schema } from "effect"
import { OptionId } from "./OptionId.ts"

export class PollOption extends Schema.Class<PollOption>("@voting/domain/PollOption")({
  id: OptionId,
  label: Schema.String.check(Schema.isBetweenLength(1, 100))
}) {}

/** The question and its 2 to 8 options, as configured by POLL_TITLE and POLL_OPTIONS. */
export class Poll extends Schema.Class<Poll>("@voting/domain/Poll")({
  title: Schema.String.check(Schema.isBetweenLength(1, 200)),
  options: Schema.Array(PollOption).check(Schema.isBetweenLength(2, 8, { message: "a poll has 2 to 8 options" }))
}) {
  /** The option with this id, if the poll has one. */
  option(id: string): PollOption | undefined {
    return this.options.find((option) => option.id === id)
  }
}

export const defaultPoll = {
  title: "Cats vs Dogs",
  options: "a=Cats,b=Dogs"
} as const

/**
 * Parses `id=Label` pairs separated by commas, e.g. `a=Cats,b=Dogs`.
 * Returns the reason in words when the text is not a valid option list.
 */
export const parsePollOptions = (text: string): ReadonlyArray<PollOption> | string => {
  const pairs = text
    .split(",")
    .map((pair) => pair.trim())
    .filter((pair) => pair.length > 0)
  if (pairs.length < 2 || pairs.length > 8) return `expected 2 to 8 options, found ${pairs.length}`
  const options: Array<PollOption> = []
  for (const pair of pairs) {
    const separator = pair.indexOf("=")
    if (separator <= 0) return `"${pair}" is not an id=Label pair`
    const id = pair.slice(0, separator).trim()
    const label = pair.slice(separator + 1).trim()
    const decoded = Schema.decodeUnknownExit(PollOption)({ id, label })
    if (decoded._tag === "Failure") {
      return label.length === 0 ? `option "${id}" has an empty label` : `option id "${id}" is not [a-z0-9-]{1,32}`
    }
    if (options.some((option) => option.id === id)) return `option id "${id}" appears twice`
    options.push(decoded.value)
  }
  return options
}
