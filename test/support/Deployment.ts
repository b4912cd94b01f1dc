import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type PrivatePostgres, startPrivatePostgres } from "./PrivatePostgres.ts"
import { type PrivateRedis, startPrivateRedis } from "./PrivateRedis.ts"
import { type ComponentName, freePort, migrate, type RunningComponent, startComponent } from "./Processes.ts"

/**
 * The three services as separate processes against a Redis and a PostgreSQL
 * of their own, configured the way the cluster configures them: poll in
 * CONFIG_DIR files, the database passwords in SECRETS_DIR files (migrate, as
 * the owner, creates the writer the worker uses and the reader the result
 * service uses, each with its own password). Every line
 * any component ever wrote is kept, so a test can scan them all (for the
 * secret, for errors).
 */
export interface Deployment {
  readonly redis: PrivateRedis
  readonly postgres: PrivatePostgres
  /** The owner's database password: a value that must never show up outside its file. */
  readonly secret: string
  /** Every database password (owner, writer, reader): none may show up outside its file. */
  readonly secrets: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly start: (
    name: ComponentName,
    options?: { readonly waitFor?: "ready" | "live" | "nothing"; readonly port?: number }
  ) => Promise<RunningComponent>
  /** Every component started so far, running or not. */
  readonly components: () => ReadonlyArray<RunningComponent>
  /** What every component wrote, stopped ones included. */
  readonly allOutput: () => string
  /** Stops every component (SIGTERM, then SIGKILL) and both servers, and deletes their data. */
  readonly tearDown: () => Promise<void>
}

/** Where the components' output of the last deployment is written when it is torn down. */
export const lastLogs = "/tmp/voting-deployment-logs"

export interface DeploymentOptions {
  readonly pollTitle?: string
  readonly pollOptions?: string
  readonly logLevel?: string
  /** More keys for every component, set in the environment after the ones above (e.g. VOTE_RATE_LIMIT). */
  readonly env?: Readonly<Record<string, string>>
  /** More redis-server flags (e.g. --maxmemory), after the ones the cluster runs it with. */
  readonly redisArgs?: ReadonlyArray<string>
}

export const startDeployment = async (options: DeploymentOptions = {}): Promise<Deployment> => {
  const secret = `canary-${randomBytes(12).toString("hex")}`
  const root = mkdtempSync("/tmp/voting-deployment-")
  const configDir = join(root, "config")
  const secretsDir = join(root, "secrets")
  mkdirSync(configDir)
  mkdirSync(secretsDir)
  writeFileSync(join(configDir, "POLL_TITLE"), options.pollTitle ?? "Cats vs Dogs")
  writeFileSync(join(configDir, "POLL_OPTIONS"), options.pollOptions ?? "a=Cats,b=Dogs,c=Birds")
  writeFileSync(join(secretsDir, "POSTGRES_PASSWORD"), secret)
  const writerSecret = `canary-writer-${randomBytes(12).toString("hex")}`
  const readerSecret = `canary-reader-${randomBytes(12).toString("hex")}`
  writeFileSync(join(secretsDir, "POSTGRES_WRITER_PASSWORD"), writerSecret)
  writeFileSync(join(secretsDir, "POSTGRES_READER_PASSWORD"), readerSecret)

  const started: Array<RunningComponent> = []
  let redis: PrivateRedis | undefined
  let postgres: PrivatePostgres | undefined
  const tearDown = async () => {
    await Promise.all(
      started.map(async (component) => {
        const stopped = component.stop("SIGTERM")
        const killer = setTimeout(() => component.child.kill("SIGKILL"), 10_000)
        await stopped
        clearTimeout(killer)
      })
    )
    await Promise.allSettled([redis?.remove(), postgres?.remove()])
    rmSync(root, { recursive: true, force: true })
    // The last run's logs stay for a person to read when a test failed.
    rmSync(lastLogs, { recursive: true, force: true })
    mkdirSync(lastLogs, { recursive: true })
    for (const component of started) {
      writeFileSync(join(lastLogs, `${component.name}-${component.child.pid}.log`), component.output())
    }
  }
  try {
    ;[redis, postgres] = await Promise.all([
      startPrivateRedis({ args: options.redisArgs ?? [] }),
      startPrivatePostgres(secret)
    ])
    const env: Record<string, string> = {
      CONFIG_DIR: configDir,
      SECRETS_DIR: secretsDir,
      REDIS_URL: redis.url,
      POSTGRES_HOST: "127.0.0.1",
      POSTGRES_PORT: String(postgres.port),
      POSTGRES_USER: "postgres",
      POSTGRES_DB: "postgres",
      LOG_LEVEL: options.logLevel ?? "info",
      ...options.env
    }
    await migrate(env)
    const deployment: Deployment = {
      redis,
      postgres,
      secret,
      secrets: [secret, writerSecret, readerSecret],
      env,
      start: async (name, startOptions = {}) => {
        const port = startOptions.port ?? (await freePort())
        const component = await startComponent(name, {
          port,
          env,
          via: "node",
          waitFor: startOptions.waitFor ?? "ready",
          timeoutMs: 30_000
        })
        started.push(component)
        return component
      },
      components: () => started,
      allOutput: () => started.map((component) => component.output()).join("\n"),
      tearDown
    }
    return deployment
  } catch (error) {
    await tearDown()
    throw error
  }
}
