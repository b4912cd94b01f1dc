import { Schema } from "effect"

/** The id of one poll option, as it travels in forms, queue messages and rows. */
export const OptionId = Schema.String.check(
  Schema.isPattern(/^[a-z0-9-]{1,32}$/, { message: "an option id is 1 to 32 of a-z, 0-9 and -" })
).pipe(Schema.brand("OptionId"))

export type OptionId = typeof OptionId.Type
