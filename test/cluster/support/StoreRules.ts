/**
 * The stores' own limits: Redis bounded in memory without evicting votes, and
 * PostgreSQL used with one database role per job, never the owner's
 * credentials outside migrate.
 */
import { type Container, containersOf, find, type K8sObject, podTemplateOf } from "./Objects.ts"
import { appNamespace, type RuleFamily } from "./RuleKit.ts"

const mebibyte = 1024 * 1024

/** A Redis memory size (`96mb`, `100m`, `1gb`, bytes) in bytes; Redis reads `mb` as MiB and `m` as 10^6. */
export const redisBytes = (value: string): number | undefined => {
  const match = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(value.trim())
  if (match?.[1] === undefined) return undefined
  const unit = (match[2] ?? "b").toLowerCase()
  const factor = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: mebibyte, g: 1e9, gb: 1024 * mebibyte }[unit] ?? 1
  return Number(match[1]) * factor
}

/** A Kubernetes memory quantity in bytes (the suffixes the manifests use). */
export const quantityBytes = (value: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(value))
  if (match?.[1] === undefined) return undefined
  const factor =
    { Ki: 1024, Mi: mebibyte, Gi: 1024 * mebibyte, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ""] ?? (match[2] ? 0 : 1)
  return Number(match[1]) * factor
}

/** The secret keys a container can read: each Secret volume it mounts (all keys when no items) and env refs. */
const secretKeysSeenBy = (container: Container, spec: Container, secretName: string): Set<string> => {
  const keys = new Set<string>()
  const mounted = new Set((container.volumeMounts ?? []).map((m: { name: string }) => m.name))
  for (const volume of spec.volumes ?? []) {
    if (!mounted.has(volume.name) || volume.secret?.secretName !== secretName) continue
    const items: Array<{ key: string }> | undefined = volume.secret.items
    // Without items the whole Secret is mounted, the owner's password with it.
    if (items === undefined) keys.add("*")
    else for (const item of items) keys.add(item.key)
  }
  for (const env of container.env ?? []) {
    const ref = env.valueFrom?.secretKeyRef
    if (ref?.name === secretName) keys.add(ref.key)
  }
  for (const from of container.envFrom ?? []) if (from.secretRef?.name === secretName) keys.add("*")
  return keys
}

/** The jobs that use the database, the role each logs in as, and that role's password key. */
const jobs = [
  { workload: "worker", userKey: "POSTGRES_WRITER_USER", passwordKey: "POSTGRES_WRITER_PASSWORD" },
  { workload: "result", userKey: "POSTGRES_READER_USER", passwordKey: "POSTGRES_READER_PASSWORD" }
] as const

const defaultUsers: Record<string, string> = {
  POSTGRES_USER: "postgres",
  POSTGRES_WRITER_USER: "voting_writer",
  POSTGRES_READER_USER: "voting_reader"
}

export const storeRules: RuleFamily = {
  "redis/maxmemory": (model) => {
    const redis = find(model.applied, "StatefulSet", "redis", appNamespace)
    const c = redis?.spec?.template?.spec?.containers?.[0]
    const args: Array<string> = [...(c?.command ?? []), ...(c?.args ?? [])].map(String)
    const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
    const object = `StatefulSet/${appNamespace}/redis`
    const problems: Array<string> = []
    const maxmemory = flag("--maxmemory")
    const bytes = maxmemory === undefined ? undefined : redisBytes(maxmemory)
    const limit = c?.resources?.limits?.memory === undefined ? undefined : quantityBytes(c.resources.limits.memory)
    if (maxmemory === undefined || bytes === undefined || bytes === 0)
      problems.push("needs --maxmemory (a bound on the queue), or a flood gets Redis OOM-killed")
    else if (limit === undefined) problems.push("needs a memory limit for --maxmemory to stay under")
    else if (bytes * 2 > limit)
      problems.push(
        `--maxmemory ${maxmemory} is over half the memory limit ${c.resources.limits.memory}: an AOF rewrite's fork can double it`
      )
    if (flag("--maxmemory-policy") !== "noeviction")
      problems.push("needs --maxmemory-policy noeviction: an evicted stream entry is a lost vote")
    return problems.map((message) => ({ rule: "redis/maxmemory", object, message }))
  },

  "postgres/role-per-job": (model) => {
    const config = find(model.applied, "ConfigMap", "voting-config", appNamespace)?.data ?? {}
    const user = (key: string) => config[key] ?? defaultUsers[key]
    const owner = user("POSTGRES_USER")
    const issues = []
    const seen = new Map<string, string>()
    for (const job of jobs) {
      const workload = find(model.applied, "Deployment", job.workload, appNamespace)
      if (workload === undefined) continue
      const object = `Deployment/${appNamespace}/${job.workload}`
      const role = user(job.userKey)
      if (role === owner)
        issues.push({ rule: "postgres/role-per-job", object, message: `${job.userKey} is the owner ${owner}` })
      const other = seen.get(role ?? "")
      if (other !== undefined)
        issues.push({
          rule: "postgres/role-per-job",
          object,
          message: `${job.userKey} ${role} is also ${other}'s role: one role per job`
        })
      seen.set(role ?? "", job.workload)
      const spec = podTemplateOf(workload as K8sObject)?.spec ?? {}
      for (const { container, init, where } of containersOf(workload as K8sObject)) {
        // Init containers (check-config, migrate) are the owner's work; the long-running container is not.
        if (init) continue
        const keys = secretKeysSeenBy(container, spec, "voting-db")
        const foreign = [...keys].filter((key) => key !== job.passwordKey)
        if (foreign.length > 0)
          issues.push({
            rule: "postgres/role-per-job",
            object,
            message: `${where} can read ${foreign.map((k) => (k === "*" ? "the whole Secret voting-db" : k)).join(", ")}; it may read ${job.passwordKey} only`
          })
      }
    }
    return issues
  }
}
