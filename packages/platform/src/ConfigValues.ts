/**
 * The vocabulary every configuration key is read with: a codec per kind of
 * value, and `read`/`optional`, which look a key up through ConfigSources and
 * decode it, so a refusal is the one line `config KEY (place): problem`.
 */
import { InvalidConfig } from "@voting/domain"
import { Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"
import type { ConfigKey } from "./ConfigKeys.ts"
import { ConfigSources } from "./ConfigSources.ts"

/**
 * How one key's value, always read as a string, becomes what the app uses.
 * Every way it can be refused carries a message saying in words what is wrong,
 * without repeating a secret: that message is the problem in the one line
 * `config KEY (place): problem`.
 */
export type ValueCodec<A> = Schema.Codec<A, string>

/** A check on the raw string: passes, or fails with the message `problem` gives. */
export const refuse = (problem: (raw: string) => string | undefined) =>
  Schema.makeFilter<string>((raw) => problem(raw) ?? true, undefined, true)

/**
 * Words for the first way a value was refused: a check's own message, never
 * the checked value (a check without one would say "Expected <check>, got
 * <value>", and the value may be a secret).
 */
const problems = SchemaIssue.makeFormatterStandardSchemaV1({
  checkHook: (filter) => SchemaIssue.defaultCheckHook(filter) ?? "is not valid"
})
const problemOf = (issue: SchemaIssue.Issue): string => problems(issue).issues[0]?.message ?? "is not valid"

/**
 * Decodes a value found at `source` (as "file /dir/KEY" or "environment
 * variable KEY") with a key's codec; a refusal names the key, the place and
 * the problem.
 */
export const decodeValue =
  <A>(codec: ValueCodec<A>, key: string, source: string) =>
  (raw: string): Effect.Effect<A, InvalidConfig> =>
    Schema.decodeEffect(codec)(raw).pipe(
      Effect.mapError((error) => new InvalidConfig({ key, source, problem: problemOf(error.issue) }))
    )

/** Reads one key through the configured sources: its value decoded, or None when no source has it. */
export const optional = <A>(key: ConfigKey, codec: ValueCodec<A>) =>
  Effect.gen(function* () {
    const sources = yield* ConfigSources
    const found = yield* sources.lookup(key)
    if (Option.isNone(found)) return Option.none<A>()
    return Option.some(yield* decodeValue(codec, key, found.value.source)(found.value.value))
  })

/** Reads one key through the configured sources, or `fallback` when no source has it. */
export const read = <A>(key: ConfigKey, codec: ValueCodec<A>, fallback: A) =>
  Effect.map(
    optional(key, codec),
    Option.getOrElse(() => fallback)
  )

/** A TCP port, 1-65535, written in decimal digits only. */
export const PortNumber: ValueCodec<number> = Schema.String.check(
  refuse((raw) =>
    /^\d{1,5}$/.test(raw) && Number(raw) > 0 && Number(raw) < 65536
      ? undefined
      : `"${raw.slice(0, 20)}" is not a port number (1-65535)`
  )
).pipe(Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString))

/** A whole number from `min` to `max`, written in decimal digits only. */
export const WholeNumber = (min: number, max: number): ValueCodec<number> =>
  Schema.String.check(
    refuse((raw) =>
      /^\d{1,9}$/.test(raw) && Number(raw) >= min && Number(raw) <= max
        ? undefined
        : `"${raw.slice(0, 20)}" is not a whole number from ${min} to ${max}`
    )
  ).pipe(Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString))

export const NonEmpty: ValueCodec<string> = Schema.String.check(Schema.isMinLength(1, { message: "is empty" }))

/**
 * A URL of one of `protocols`. A URL can carry a password, so a refusal calls
 * it "the value" and never shows it.
 */
export const UrlOf = (protocols: ReadonlyArray<string>): ValueCodec<URL> =>
  Schema.String.check(
    refuse((raw) => (URL.canParse(raw) ? undefined : "the value is not a URL")),
    refuse((raw) =>
      protocols.includes(new URL(raw).protocol) ? undefined : `the value must start with ${protocols.join(" or ")}//`
    )
  ).pipe(Schema.decodeTo(Schema.URL, SchemaTransformation.urlFromString))
