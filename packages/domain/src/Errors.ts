import { Schema } from "effect"

/** The voter chose something the poll does not offer. */
export class UnknownOption extends Schema.TaggedError<UnknownOption>()("UnknownOption", {
  option: Schema.String,
  validOptions: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `"${this.option.slice(0, 40)}" is not an option of this poll; valid options: ${this.validOptions.join(", ")}`
  }
}

/** A queue entry that is not a valid vote; it goes to the dead-letter stream. */
export class MalformedMessage extends Schema.TaggedError<MalformedMessage>()("MalformedMessage", {
  entryId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `queue entry ${this.entryId} is not a valid vote: ${this.reason}`
  }
}

/** A configuration key is missing or malformed; the component stops at start. */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  key: Schema.String,
  source: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `config ${this.key} (${this.source}): ${this.problem}`
  }
}
