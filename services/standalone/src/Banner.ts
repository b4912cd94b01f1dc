import type { Backends } from "./Backends.ts"
import type { StandaloneSettings } from "./StandaloneSettings.ts"

/** What a person who just ran `npm start` needs to know: where to look, what runs, where the data is. */
export const banner = (settings: StandaloneSettings, backends: Backends): string => {
  const queue =
    backends.queue === "redis"
      ? "Redis (REDIS_URL / REDIS_HOST)"
      : "in-process (drained on Ctrl-C; a crash loses what is not yet counted)"
  const store =
    backends.store === "postgres"
      ? "PostgreSQL (DATABASE_URL / POSTGRES_HOST)"
      : `embedded PostgreSQL (PGlite), data in ${settings.dataDir}/pglite`
  return [
    "",
    "  Voting app: all three services in this process",
    "",
    `    Vote      http://localhost:${settings.votePort}/`,
    `    Results   http://localhost:${settings.resultPort}/`,
    "",
    `    Queue     ${queue}`,
    `    Store     ${store}`,
    `    Poll      POLL_TITLE / POLL_OPTIONS${process.env.CONFIG_DIR ? `, re-read from ${process.env.CONFIG_DIR}` : ""}`,
    "",
    "  Ctrl-C stops it.",
    "",
    ""
  ].join("\n")
}
