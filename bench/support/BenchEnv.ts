import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { Redis } from "ioredis"
import { migrate } from "../../test/support/Processes.ts"
import { connectPostgres, databaseUrlFor, type Sql } from "./Postgres.ts"

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
export const serverDatabaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** The bench's poll: two options for the load, a third only the live-latency probes vote for. */
export const pollOptions = "a=Cats,b=Dogs,p=Probe"
export const probeOption = "p"

export interface BenchDatabase {
  readonly name: string
  readonly url: string
  readonly sql: Sql
}

/**
 * Everything the bench owns on the shared servers: its own databases and its
 * own Redis key prefix, all removed by `dispose`, so a bench never touches a
 * developer's or a test run's data.
 */
export interface BenchEnv {
  readonly id: string
  readonly prefix: string
  readonly redis: Redis
  /** Redis's process id when it runs on this machine, for its CPU share. */
  readonly redisPid: number | undefined
  /** The main database: the worker's target and the result service's source. */
  readonly main: BenchDatabase
  /** A second database holding only 1,000 votes, for the result API's baseline. */
  readonly small: BenchDatabase
  /** The environment a service needs to run against `database`. */
  readonly serviceEnv: (database: BenchDatabase) => Record<string, string>
  readonly dispose: () => Promise<void>
}

export const createBenchEnv = async (): Promise<BenchEnv> => {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`
  const prefix = `voting-bench:${id}:`
  const admin = connectPostgres(serverDatabaseUrl)
  const redis = new Redis(redisUrl, { lazyConnect: true, enableAutoPipelining: true })
  await redis.connect()
  const created: Array<BenchDatabase> = []

  const createDatabase = async (name: string): Promise<BenchDatabase> => {
    await admin.query(`CREATE DATABASE ${name}`)
    const url = databaseUrlFor(serverDatabaseUrl, name)
    const database = { name, url, sql: connectPostgres(url) }
    created.push(database)
    await migrate({ DATABASE_URL: url, LOG_LEVEL: "warn" })
    return database
  }

  const dispose = async () => {
    for (const database of created) await database.sql.close().catch(() => undefined)
    for (const database of created) {
      await admin.query(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`).catch(() => undefined)
    }
    let cursor = "0"
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
    } while (cursor !== "0")
    redis.disconnect()
    await admin.close()
  }

  const info = await redis.info("server")
  const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1])
  const redisPid =
    Number.isInteger(pid) &&
    existsSync(`/proc/${pid}/comm`) &&
    readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("redis")
      ? pid
      : undefined

  try {
    const main = await createDatabase(`voting_bench_${id}`)
    const small = await createDatabase(`voting_bench_${id}_small`)
    return {
      id,
      prefix,
      redis,
      redisPid,
      main,
      small,
      serviceEnv: (database) => ({
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        DATABASE_URL: database.url,
        POLL_OPTIONS: pollOptions,
        LOG_LEVEL: "warn",
        // The load comes from one address, at thousands of votes a second: the per-client limit is off,
        // so the bench measures the vote path, not the limiter's refusals.
        VOTE_RATE_LIMIT: "0",
        // The streams scenario holds 1,000 event streams from that one address: both stream caps off.
        RESULT_STREAMS_PER_CLIENT: "0",
        RESULT_STREAMS_MAX: "0"
      }),
      dispose
    }
  } catch (error) {
    await dispose()
    throw error
  }
}

/** Empties the votes and their tallies (TRUNCATE fires no row triggers, so both go). */
export const clearVotes = (database: BenchDatabase) => database.sql.query("TRUNCATE votes, option_tallies")

/** Stored votes: the tallies' sum, which the triggers keep equal to the rows; cheap to poll. */
export const tallyTotal = async (database: BenchDatabase) => {
  const [row] = await database.sql.query<{ total: string | null }>(
    "SELECT sum(votes)::text AS total FROM option_tallies"
  )
  return Number(row?.total ?? 0)
}

export const rowCount = async (database: BenchDatabase) => {
  const [row] = await database.sql.query<{ count: string }>("SELECT count(*)::text AS count FROM votes")
  return Number(row?.count ?? 0)
}
