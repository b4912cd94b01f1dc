/**
 * What the image suite sets up once: the engine, the stand-in base images,
 * the six images built from the real Dockerfile, and a "cluster" (ConfigMap,
 * Secret, Service names, images) rendered from the real manifests, pointed at
 * this test run's own PostgreSQL database and Redis key prefix.
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { kustomize } from "../../cluster/support/Kubectl.ts"
import type { K8sObject } from "../../cluster/support/Objects.ts"
import { repositoryRoot } from "../../support/Processes.ts"
import { detectEngine, type Engine } from "./Engine.ts"
import type { Cluster, PodSpec } from "./PodRunner.ts"
import { ensureStandIns } from "./StandIns.ts"

export const services = ["vote", "result", "worker"] as const
export type Service = (typeof services)[number]
export const targets = ["dev", "production"] as const
export type Target = (typeof targets)[number]

/** The external images the Dockerfile builds on (its FROM lines that name no stage). */
export const dockerfileBaseImages = (dockerfile: string): Array<string> => {
  const stages = new Set<string>()
  const images: Array<string> = []
  for (const match of dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const [, image, stage] = match
    if (image !== undefined && !stages.has(image)) images.push(image)
    if (stage !== undefined) stages.add(stage)
  }
  return images
}

/** The image names the workloads of the rendered manifests run, other than the app's own. */
const manifestImages = (objects: ReadonlyArray<K8sObject>) =>
  objects
    .flatMap((o) => podSpecOf(o)?.initContainers ?? [])
    .concat(objects.flatMap((o) => podSpecOf(o)?.containers ?? []))
    .map((c) => c.image)
    .filter((image) => !image.startsWith("voting/"))

export const podSpecOf = (o: K8sObject): PodSpec | undefined =>
  o.kind === "Deployment" || o.kind === "StatefulSet" ? (o.spec?.template?.spec as PodSpec) : undefined

export const workload = (objects: ReadonlyArray<K8sObject>, kind: string, name: string): PodSpec => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  const spec = found === undefined ? undefined : podSpecOf(found)
  if (spec === undefined) throw new Error(`no ${kind} ${name} in the rendered manifests`)
  return spec
}

const localName = (engine: Engine, name: string) => (engine.kind === "podman" ? `localhost/${name}` : name)
const qualified = (engine: Engine, image: string) =>
  engine.kind === "podman" && !image.split("/")[0]?.includes(".") ? `docker.io/library/${image}` : image

export const imageTag = (engine: Engine, service: Service, target: Target) =>
  localName(engine, `voting/${service}:images-${target}`)

export interface Timings {
  standInsMs: number
  made: Array<string>
  builds: Array<{ image: string; ms: number }>
}

/** Stand-ins where images cannot be pulled, then every service's dev and production target. */
export const buildImages = async (): Promise<{ engine: Engine; timings: Timings }> => {
  const engine = detectEngine()
  const dockerfile = readFileSync(join(repositoryRoot, "Dockerfile"), "utf8")
  const bases = dockerfileBaseImages(dockerfile)
  const timings: Timings = { standInsMs: 0, made: [], builds: [] }
  let started = Date.now()
  if (!engine.pullsBaseImages) {
    const wanted = [...bases, ...manifestImages(kustomize(join(repositoryRoot, "manifests")))]
    const node = bases.find((image) => /(^|\/)node:/.test(image)) ?? ""
    timings.made = await ensureStandIns(engine, wanted, node)
  }
  timings.standInsMs = Date.now() - started
  for (const target of targets) {
    for (const service of services) {
      started = Date.now()
      const tag = imageTag(engine, service, target)
      await engine.build({ context: repositoryRoot, target, tag, buildArgs: { SERVICE: service } })
      timings.builds.push({ image: tag, ms: Date.now() - started })
    }
  }
  return { engine, timings }
}

export interface Stores {
  readonly database: string
  readonly redisPrefix: string
  /** This run's own writer and reader role names (roles are the server's, shared by every database). */
  readonly writerUser: string
  readonly readerUser: string
}

/**
 * A cluster rendered from a kustomization: its ConfigMaps (with this run's
 * database and key prefix), the Secret the Tiltfile would make, its Service
 * names, and the images to run for the app's and the stores' names.
 */
export const clusterFrom = (
  engine: Engine,
  workDir: string,
  kustomization: string,
  target: Target,
  stores: Stores
): { cluster: Cluster; objects: Array<K8sObject> } => {
  const objects = kustomize(join(repositoryRoot, kustomization))
  const configMaps: Record<string, Record<string, string>> = {}
  for (const o of objects.filter((o) => o.kind === "ConfigMap")) configMaps[o.metadata.name] = { ...o.data }
  const config = configMaps["voting-config"]
  if (config === undefined) throw new Error(`${kustomization} has no ConfigMap voting-config`)
  // The test server trusts local connections; the user and database are this run's own.
  Object.assign(config, {
    POSTGRES_DB: stores.database,
    POSTGRES_USER: "postgres",
    POSTGRES_WRITER_USER: stores.writerUser,
    POSTGRES_READER_USER: stores.readerUser,
    REDIS_KEY_PREFIX: stores.redisPrefix
  })
  const images: Record<string, string> = {}
  for (const o of objects) {
    const spec = podSpecOf(o)
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
      const app = /^voting\/(vote|result|worker):/.exec(c.image)?.[1] as Service | undefined
      images[c.image] = app === undefined ? qualified(engine, c.image) : imageTag(engine, app, target)
    }
  }
  return {
    objects,
    cluster: {
      engine,
      workDir,
      configMaps,
      // Made by the Tiltfile (or by hand, README "Without Tilt"), never in the manifests.
      secrets: {
        "voting-db": {
          POSTGRES_PASSWORD: randomBytes(12).toString("hex"),
          POSTGRES_WRITER_PASSWORD: randomBytes(12).toString("hex"),
          POSTGRES_READER_PASSWORD: randomBytes(12).toString("hex")
        }
      },
      serviceNames: objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name),
      images
    }
  }
}

/**
 * The pods share this machine's network, so the ports their containers declare
 * must be free: a leftover `npm start` would otherwise answer in their place.
 */
export const requireFreePorts = async (objects: ReadonlyArray<K8sObject>) => {
  const ports = objects
    .flatMap((o) => podSpecOf(o)?.containers ?? [])
    .flatMap((c) => c.ports ?? [])
    .map((p) => p.containerPort)
  const taken: Array<number> = []
  for (const port of new Set(ports)) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once("error", () => resolve(false))
      server.listen(port, () => server.close(() => resolve(true)))
    })
    if (!free) taken.push(port)
  }
  if (taken.length > 0)
    throw new Error(`the image suite runs pods on this machine's network, but ports ${taken.join(", ")} are in use`)
}

/** Resident memory of a process and all its descendants, in MiB (from the host's /proc). */
export const residentMiB = (pid: number): number => {
  const kib = (p: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0)
  const children = (p: number): Array<number> => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  const walk = (p: number): number => kib(p) + children(p).reduce((sum, c) => sum + walk(c), 0)
  return Math.round(walk(pid) / 1024)
}

/** A Kubernetes memory quantity (Mi/Gi/M) in MiB. */
export const mebibytes = (quantity: string): number => {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)?$/.exec(quantity)
  if (match?.[1] === undefined) throw new Error(`unreadable memory quantity ${quantity}`)
  const n = Number(match[1])
  return match[2] === "Gi"
    ? n * 1024
    : match[2] === "M"
      ? (n * 1e6) / 2 ** 20
      : match[2] === "G"
        ? (n * 1e9) / 2 ** 20
        : n
}
