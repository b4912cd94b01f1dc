import type { Backends } from "./Backends.ts"
import { listensBeyondThisMachine, pageUrl, type StandaloneSettings } from "./StandaloneSettings.ts"

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
  const listening = listensBeyondThisMachine(settings.host)
    ? `${settings.host} (HOST): other machines can reach both pages and /metrics, over plain HTTP`
    : `${settings.host}, this machine only (HOST=0.0.0.0 opens it to the network)`
  return [
    "",
    "  Voting app: all three services in this process",
    "",
    `    Vote      ${pageUrl(settings.host, settings.votePort).href}`,
    `    Results   ${pageUrl(settings.host, settings.resultPort).href}`,
    `    Listening ${listening}`,
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
