import { connect } from "node:net"

/** The services every integration suite needs, as `npm test` documents them. */
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
export const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

const reachable = (url: string, defaultPort: number) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect({ host: hostname, port: Number(port || defaultPort) })
    socket.setTimeout(2_000)
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

/** Fails the run at once, with the fix, when Redis or PostgreSQL is not there. */
export default async function setup() {
  const missing: Array<string> = []
  if (!(await reachable(redisUrl, 6379))) missing.push(`Redis at ${redisUrl}`)
  if (!(await reachable(databaseUrl, 5432))) missing.push(`PostgreSQL at ${new URL(databaseUrl).host}`)
  if (missing.length > 0) {
    throw new Error(
      `npm test needs ${missing.join(" and ")} (set REDIS_URL / DATABASE_URL to use others). .ci/run shows how to start them.`
    )
  }
}
