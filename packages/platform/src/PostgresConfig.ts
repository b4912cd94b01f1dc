/** The PostgreSQL keys: where the database is, and the role each job connects as. */
import type { InvalidConfig } from "@voting/domain"
import { Effect, Option, Redacted, Schema } from "effect"
import type { ConfigKey } from "./ConfigKeys.ts"
import { ConfigSources } from "./ConfigSources.ts"
import { NonEmpty, optional, PortNumber, read, UrlOf, type ValueCodec } from "./ConfigValues.ts"

export interface PostgresSettings {
  readonly url?: Redacted.Redacted<string>
  readonly host?: string
  readonly port?: number
  readonly database?: string
  readonly username?: string
  /** Read again for every new connection, so a rotated secret file takes effect without a restart. */
  readonly password?: Effect.Effect<Redacted.Redacted<string>>
}

export const defaultDatabaseUrl = "postgres://postgres@127.0.0.1:5432/postgres"

/**
 * The database role a process connects as, one per job: the owner (POSTGRES_USER,
 * who owns the schema) migrates; the worker writes as the writer; the result
 * service reads as the reader.
 */
export type DatabaseRole = "owner" | "writer" | "reader"

/** A role name migrate creates: a plain lower-case SQL identifier, so it needs no quoting anywhere. */
const RoleName: ValueCodec<string> = Schema.String.check(
  Schema.isPattern(/^[a-z_][a-z0-9_]{0,62}$/, {
    message: "must be 1-63 of a-z 0-9 _, not starting with a digit"
  })
)

/** Each role's user name and password, and the key its password is read again from for each connection. */
const roleConfig = {
  owner: {
    user: read("POSTGRES_USER", NonEmpty, "postgres"),
    password: optional("POSTGRES_PASSWORD", NonEmpty),
    passwordKey: "POSTGRES_PASSWORD"
  },
  writer: {
    user: read("POSTGRES_WRITER_USER", RoleName, "voting_writer"),
    password: optional("POSTGRES_WRITER_PASSWORD", NonEmpty),
    passwordKey: "POSTGRES_WRITER_PASSWORD"
  },
  reader: {
    user: read("POSTGRES_READER_USER", RoleName, "voting_reader"),
    password: optional("POSTGRES_READER_PASSWORD", NonEmpty),
    passwordKey: "POSTGRES_READER_PASSWORD"
  }
} as const satisfies Record<
  DatabaseRole,
  {
    user: Effect.Effect<string, InvalidConfig, ConfigSources>
    password: Effect.Effect<Option.Option<string>, InvalidConfig, ConfigSources>
    passwordKey: ConfigKey
  }
>

/** The secret key holding the password of each role. */
export const rolePasswordKey = (role: DatabaseRole): ConfigKey => roleConfig[role].passwordKey

/**
 * How to reach PostgreSQL as `role`: DATABASE_URL (whose user is used as is,
 * whatever the role), or the POSTGRES_* keys with the role's user name and its
 * password from the Secret. A role whose password is not configured connects
 * without one; there is no falling back to the owner's.
 */
export const postgresConfigFor = (role: DatabaseRole): Effect.Effect<PostgresSettings, InvalidConfig, ConfigSources> =>
  Effect.gen(function* () {
    const sources = yield* ConfigSources
    const url = yield* optional("DATABASE_URL", UrlOf(["postgres:", "postgresql:"]))
    if (Option.isSome(url)) return { url: Redacted.make(url.value.href) }
    const host = yield* optional("POSTGRES_HOST", NonEmpty)
    if (Option.isNone(host)) return { url: Redacted.make(defaultDatabaseUrl) }
    const port = yield* read("POSTGRES_PORT", PortNumber, 5432)
    const database = yield* read("POSTGRES_DB", NonEmpty, "postgres")
    const username = yield* roleConfig[role].user
    // Checked once at start so a missing secret stops the component with a clear line.
    const initialPassword = yield* roleConfig[role].password
    const password = sources.lookup(roleConfig[role].passwordKey).pipe(
      Effect.map((found) =>
        Redacted.make(
          Option.getOrElse(
            Option.map(found, (f) => f.value),
            () => ""
          )
        )
      ),
      Effect.orElseSucceed(() => Redacted.make(""))
    )
    return {
      host: host.value,
      port,
      database,
      username,
      ...(Option.isSome(initialPassword) ? { password } : {})
    }
  })

/** How to reach PostgreSQL as the owner: DATABASE_URL, or POSTGRES_* keys with the password from the Secret. */
export const postgresConfig: Effect.Effect<PostgresSettings, InvalidConfig, ConfigSources> = postgresConfigFor("owner")

/** A role migrate creates (or updates) and grants to, with its password. */
export interface RoleLogin {
  readonly name: string
  readonly password: Redacted.Redacted<string>
}

/**
 * The writer's and the reader's names and passwords, for migrate. A role whose
 * password is not configured is None: migrate leaves it alone.
 */
export const databaseRolesConfig = Effect.gen(function* () {
  const login = (role: "writer" | "reader") =>
    Effect.gen(function* () {
      const name = yield* roleConfig[role].user
      const password = yield* roleConfig[role].password
      return Option.map(password, (value): RoleLogin => ({ name, password: Redacted.make(value) }))
    })
  return { writer: yield* login("writer"), reader: yield* login("reader") }
})
