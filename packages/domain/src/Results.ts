import { Schema } from "effect"
import { OptionId } from "./OptionId.ts"

export const OptionResult = Schema.Struct({
  id: OptionId,
  label: Schema.String,
  votes: Schema.Int
})
export type OptionResult = typeof OptionResult.Type

/** The tally as `/api/results` and the event stream carry it. */
export const Results = Schema.Struct({
  title: Schema.String,
  options: Schema.Array(OptionResult),
  total: Schema.Int,
  updatedAt: Schema.String
})
export type Results = typeof Results.Type
