import { Schema } from "effect"

/**
 * A voter's identity: at least 128 random bits, base64url-encoded (22 chars for
 * 16 bytes). The upper bound keeps a hostile cookie from growing rows or logs.
 */
export const VoterId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{22,64}$/, { message: "a voter id is 22 to 64 base64url characters" })
).pipe(Schema.brand("VoterId"))

export type VoterId = typeof VoterId.Type

/** Number of random bytes in a new voter id (128 bits). */
export const voterIdBytes = 16
