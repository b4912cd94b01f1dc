/**
 * Runs a rendered workload's pod the way the kubelet would, with a container
 * engine on this machine's host network: the pod's and containers' security
 * contexts (user and group without a passwd entry, read-only root, dropped
 * capabilities, no privilege escalation), ConfigMap and Secret volumes as
 * files at their mount paths, emptyDir as a directory the pod's containers
 * share, env (values and ConfigMap/Secret references), command and args with
 * Kubernetes' meaning (command replaces the image's entrypoint and its CMD),
 * init containers one by one, each required to exit 0, then the containers;
 * readiness from the manifest's own probes; SIGTERM and the grace period.
 *
 * What it cannot do (a real cluster does): a pod network and Services (each
 * Service name resolves to 127.0.0.1 through the container's /etc/hosts),
 * NetworkPolicy, resource limits, Pod Security admission, image pulls.
 * Anything in a manifest it does not understand fails the run instead of
 * being skipped.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Engine, Result } from "./Engine.ts"

// Only the fields the runner reads; anything else in a container is checked by `unsupported`.
interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string }
  readonly exec?: { readonly command: ReadonlyArray<string> }
  readonly tcpSocket?: unknown
}
interface SecurityContext {
  readonly runAsUser?: number
  readonly runAsGroup?: number
  readonly runAsNonRoot?: boolean
  readonly readOnlyRootFilesystem?: boolean
  readonly allowPrivilegeEscalation?: boolean
  readonly capabilities?: { readonly drop?: ReadonlyArray<string>; readonly add?: ReadonlyArray<string> }
  readonly fsGroup?: number
  readonly supplementalGroups?: ReadonlyArray<number>
}
interface EnvVar {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: {
    readonly configMapKeyRef?: { readonly name: string; readonly key: string }
    readonly secretKeyRef?: { readonly name: string; readonly key: string }
  }
}
export interface ContainerSpec {
  readonly name: string
  readonly image: string
  readonly command?: ReadonlyArray<string>
  readonly args?: ReadonlyArray<string>
  readonly workingDir?: string
  readonly env?: ReadonlyArray<EnvVar>
  readonly ports?: ReadonlyArray<{ readonly name?: string; readonly containerPort: number }>
  readonly volumeMounts?: ReadonlyArray<{
    readonly name: string
    readonly mountPath: string
    readonly readOnly?: boolean
    readonly subPath?: string
  }>
  readonly readinessProbe?: Probe
  readonly livenessProbe?: Probe
  readonly startupProbe?: Probe
  readonly securityContext?: SecurityContext
  readonly lifecycle?: { readonly preStop?: { readonly sleep?: { readonly seconds: number } } }
  readonly resources?: { readonly limits?: { readonly memory?: string; readonly cpu?: string } }
  readonly envFrom?: unknown
}
interface Volume {
  readonly name: string
  readonly configMap?: { readonly name: string; readonly items?: ReadonlyArray<{ key: string; path: string }> }
  readonly secret?: {
    readonly secretName: string
    readonly optional?: boolean
    readonly items?: ReadonlyArray<{ key: string; path: string }>
  }
  readonly emptyDir?: unknown
  readonly persistentVolumeClaim?: unknown
}
export interface PodSpec {
  readonly initContainers?: ReadonlyArray<ContainerSpec>
  readonly containers: ReadonlyArray<ContainerSpec>
  readonly volumes?: ReadonlyArray<Volume>
  readonly securityContext?: SecurityContext
  readonly terminationGracePeriodSeconds?: number
}

/** What the cluster would hold besides the pod: ConfigMaps, Secrets, Service names, built images. */
export interface Cluster {
  readonly engine: Engine
  readonly workDir: string
  readonly configMaps: Record<string, Record<string, string>>
  readonly secrets: Record<string, Record<string, string>>
  /** Service names the pods resolve (to 127.0.0.1, where the test's servers listen). */
  readonly serviceNames: ReadonlyArray<string>
  /** Image names in the manifests → the locally built image to run instead. */
  readonly images: Record<string, string>
}

export interface RunningPod {
  readonly name: string
  readonly spec: PodSpec
  /** Engine container id of each of the pod's containers (not init containers). */
  readonly containerIds: Record<string, string>
  readonly logs: (container: string) => Promise<string>
  readonly exec: (container: string, command: ReadonlyArray<string>, input?: Buffer) => Promise<Result>
  /** The host pid of the container's first process. */
  readonly pid: (container: string) => Promise<number>
  /** SIGTERM to every container, as the kubelet does; each exit code and how long it took. */
  readonly stop: () => Promise<Array<{ container: string; code: number; ms: number; graceMs: number }>>
  readonly remove: () => Promise<void>
}

const unsupported = (where: string, what: string): never => {
  throw new Error(
    `${where}: ${what} is not supported by the image suite's pod runner; teach test/images/support/PodRunner.ts`
  )
}

let counter = 0

/** Every container the runner starts carries this label, so a run can clear what a crashed one left. */
export const podLabel = "voting-app.image-suite/pod"

export const removeLeftovers = async (engine: Engine) => {
  const left = await engine.container(["ps", "--all", "--quiet", "--filter", `label=${podLabel}`])
  const ids = left.stdout.split("\n").filter(Boolean)
  if (ids.length > 0) await engine.container(["rm", "--force", ...ids], { allowFailure: true })
}

/** Materialises the pod's volumes as host directories: volume name → directory. */
const volumeDirs = (cluster: Cluster, pod: string, spec: PodSpec): Map<string, string> => {
  const dirs = new Map<string, string>()
  for (const volume of spec.volumes ?? []) {
    const dir = join(cluster.workDir, pod, volume.name)
    mkdirSync(dir, { recursive: true })
    dirs.set(volume.name, dir)
    const source = volume.configMap
      ? {
          kind: "ConfigMap",
          name: volume.configMap.name,
          data: cluster.configMaps[volume.configMap.name],
          optional: false,
          items: volume.configMap.items
        }
      : volume.secret
        ? {
            kind: "Secret",
            name: volume.secret.secretName,
            data: cluster.secrets[volume.secret.secretName],
            optional: volume.secret.optional === true,
            items: volume.secret.items
          }
        : undefined
    if (source !== undefined) {
      if (source.data === undefined && !source.optional) {
        throw new Error(
          `${pod}: volume ${volume.name} needs ${source.kind} ${source.name}, which does not exist (the pod would wait in ContainerCreating)`
        )
      }
      const data = source.data ?? {}
      const entries = source.items?.map((item) => [item.path, data[item.key]] as const) ?? Object.entries(data)
      for (const [path, value] of entries) {
        if (value === undefined)
          throw new Error(`${pod}: volume ${volume.name} names a key missing from ${source.kind} ${source.name}`)
        writeFileSync(join(dir, path), value, { mode: 0o644 })
      }
    } else if (volume.emptyDir !== undefined) {
      // On the node an emptyDir is a directory that every container of the pod shares, writable by all.
      chmodSync(dir, 0o777)
    } else
      unsupported(
        pod,
        `volume ${volume.name} (${Object.keys(volume)
          .filter((k) => k !== "name")
          .join(", ")})`
      )
  }
  return dirs
}

const resolveEnv = (cluster: Cluster, where: string, env: EnvVar): string => {
  if (env.value !== undefined) return env.value
  const ref = env.valueFrom?.configMapKeyRef ?? env.valueFrom?.secretKeyRef
  if (ref === undefined) return unsupported(where, `env ${env.name}'s valueFrom`)
  const source = env.valueFrom?.configMapKeyRef ? cluster.configMaps[ref.name] : cluster.secrets[ref.name]
  const value = source?.[ref.key]
  if (value === undefined)
    throw new Error(`${where}: env ${env.name} refers to ${ref.name}/${ref.key}, which does not exist`)
  return value
}

/** `run` flags for one container: Kubernetes' meaning of the pod and container spec. */
export const runFlags = (
  cluster: Cluster,
  pod: string,
  spec: PodSpec,
  container: ContainerSpec,
  volumes: Map<string, string>
) => {
  const where = `${pod}/${container.name}`
  if (container.envFrom !== undefined) unsupported(where, "envFrom")
  const podSecurity = spec.securityContext ?? {}
  const security = container.securityContext ?? {}
  const user = security.runAsUser ?? podSecurity.runAsUser
  const group = security.runAsGroup ?? podSecurity.runAsGroup
  if ((security.runAsNonRoot ?? podSecurity.runAsNonRoot) === true && (user === undefined || user === 0)) {
    // The kubelet would check the image's user; the manifests here always name one.
    throw new Error(`${where}: runAsNonRoot without a non-zero runAsUser`)
  }
  const flags = ["--network", "host", "--label", `${podLabel}=${pod}`, ...cluster.engine.runFlags]
  if (user !== undefined) flags.push("--user", group === undefined ? `${user}` : `${user}:${group}`)
  for (const extra of [podSecurity.fsGroup, ...(podSecurity.supplementalGroups ?? [])]) {
    if (extra !== undefined) flags.push("--group-add", String(extra))
  }
  if (security.readOnlyRootFilesystem === true) {
    // podman otherwise mounts writable tmpfs on /tmp, /run and /var/tmp, which a pod does not get.
    flags.push("--read-only", ...(cluster.engine.kind === "podman" ? ["--read-only-tmpfs=false"] : []))
  }
  for (const cap of security.capabilities?.drop ?? []) flags.push("--cap-drop", cap)
  for (const cap of security.capabilities?.add ?? []) flags.push("--cap-add", cap)
  if (security.allowPrivilegeEscalation === false) flags.push("--security-opt", "no-new-privileges")
  for (const name of cluster.serviceNames) flags.push("--add-host", `${name}:127.0.0.1`)
  for (const env of container.env ?? []) flags.push("--env", `${env.name}=${resolveEnv(cluster, where, env)}`)
  for (const mount of container.volumeMounts ?? []) {
    const dir = volumes.get(mount.name) ?? unsupported(where, `a mount of the undeclared volume ${mount.name}`)
    const source = mount.subPath === undefined ? dir : join(dir, mount.subPath)
    flags.push("--volume", `${source}:${mount.mountPath}${mount.readOnly === true ? ":ro" : ""}`)
  }
  if (container.workingDir !== undefined) flags.push("--workdir", container.workingDir)
  // Kubernetes: `command` replaces the image's ENTRYPOINT and drops its CMD; `args` replaces CMD.
  if (container.command !== undefined) flags.push("--entrypoint", JSON.stringify(container.command))
  const image =
    cluster.images[container.image] ?? unsupported(where, `the image ${container.image} (not built or stood in)`)
  return [...flags, image, ...(container.args ?? [])]
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const portOf = (container: ContainerSpec, port: number | string) =>
  typeof port === "number" ? port : (container.ports?.find((p) => p.name === port)?.containerPort ?? Number.NaN)

/** One probe, as the kubelet runs it: HTTP from the node, exec inside the container. */
export const probeOnce = async (
  pod: RunningPod,
  container: ContainerSpec,
  probe: Probe
): Promise<string | undefined> => {
  if (probe.httpGet !== undefined) {
    const port = portOf(container, probe.httpGet.port)
    if (Number.isNaN(port)) return `probe port ${probe.httpGet.port} is not a port of the container`
    try {
      const response = await fetch(`http://127.0.0.1:${port}${probe.httpGet.path}`, {
        signal: AbortSignal.timeout(2_000)
      })
      await response.arrayBuffer()
      return response.status >= 200 && response.status < 400
        ? undefined
        : `GET :${port}${probe.httpGet.path} answered ${response.status}`
    } catch (error) {
      return `GET :${port}${probe.httpGet.path}: ${String(error)}`
    }
  }
  if (probe.exec !== undefined) {
    const result = await pod.exec(container.name, probe.exec.command)
    return result.code === 0
      ? undefined
      : `${probe.exec.command.join(" ")} exited ${result.code}: ${result.stdout}${result.stderr}`
  }
  return unsupported(`${pod.name}/${container.name}`, "a probe other than httpGet or exec")
}

const running = async (engine: Engine, id: string) =>
  (await engine.container(["inspect", "--format", "{{.State.Running}}", id])).stdout.trim() === "true"

/** Waits until every container's startup, readiness and liveness probes pass, or throws with its logs. */
export const waitReady = async (pod: RunningPod, timeoutMs: number, engine: Engine) => {
  for (const container of pod.spec.containers) {
    const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe].filter(
      (probe): probe is Probe => probe !== undefined
    )
    if (probes.length === 0) throw new Error(`${pod.name}/${container.name} has no probes to wait on`)
    const deadline = Date.now() + timeoutMs
    for (const probe of probes) {
      for (;;) {
        const failure = await probeOnce(pod, container, probe)
        if (failure === undefined) break
        const id = pod.containerIds[container.name] ?? ""
        if (!(await running(engine, id)) || Date.now() > deadline) {
          throw new Error(
            `${pod.name}/${container.name} never passed its probe (${failure})\n${await pod.logs(container.name)}`
          )
        }
        await sleep(250)
      }
    }
  }
}

/**
 * Starts a pod: init containers in order (each must exit 0 within its
 * deadline), then its containers, detached. `adjust` lets a test change a
 * container spec (a broken fixture, say) before it runs.
 */
export const startPod = async (
  cluster: Cluster,
  name: string,
  spec: PodSpec,
  options: { readonly initTimeoutMs?: number } = {}
): Promise<RunningPod> => {
  const { engine } = cluster
  const pod = `${name}-${process.pid}-${++counter}`
  const volumes = volumeDirs(cluster, pod, spec)
  const created: Array<string> = []
  const remove = async () => {
    if (created.length === 0) return
    // kill, then rm: `rm --force` alone would wait out a stop timeout on a process that ignores SIGTERM.
    await engine.container(["kill", ...created], { allowFailure: true })
    await engine.container(["rm", "--force", ...created], { allowFailure: true })
  }
  try {
    for (const init of spec.initContainers ?? []) {
      const id = `${pod}-${init.name}`
      created.push(id)
      const result = await engine.container(["run", "--name", id, ...runFlags(cluster, pod, spec, init, volumes)], {
        allowFailure: true,
        timeoutMs: options.initTimeoutMs ?? 120_000
      })
      if (result.code !== 0) {
        const how =
          result.code === null
            ? `did not finish within ${(options.initTimeoutMs ?? 120_000) / 1_000} s`
            : `exited ${result.code}`
        throw new Error(`${pod}: init container ${init.name} ${how}\n${result.stdout}${result.stderr}`)
      }
    }
    const containerIds: Record<string, string> = {}
    for (const container of spec.containers) {
      const id = `${pod}-${container.name}`
      created.push(id)
      await engine.container(["run", "--detach", "--name", id, ...runFlags(cluster, pod, spec, container, volumes)])
      containerIds[container.name] = id
    }
    const idOf = (container: string) => containerIds[container] ?? unsupported(pod, `no container ${container}`)
    return {
      name: pod,
      spec,
      containerIds,
      remove,
      logs: async (container) => {
        const result = await engine.container(["logs", idOf(container)], { allowFailure: true })
        return `${result.stdout}${result.stderr}`
      },
      exec: (container, command, input) =>
        engine.container(["exec", ...(input === undefined ? [] : ["--interactive"]), idOf(container), ...command], {
          allowFailure: true,
          timeoutMs: 30_000,
          ...(input === undefined ? {} : { input })
        }),
      pid: async (container) =>
        Number((await engine.container(["inspect", "--format", "{{.State.Pid}}", idOf(container)])).stdout.trim()),
      stop: async () => {
        const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1_000
        return Promise.all(
          spec.containers.map(async (container) => {
            const id = idOf(container.name)
            // The kubelet runs preStop first; its sleep only delays the SIGTERM, so it is left out here
            // and taken off the grace period instead.
            const budget = graceMs - (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1_000
            const started = Date.now()
            await engine.container(["stop", "-t", String(Math.ceil(budget / 1_000)), id])
            const ms = Date.now() - started
            const code = Number(
              (await engine.container(["inspect", "--format", "{{.State.ExitCode}}", id])).stdout.trim()
            )
            return { container: container.name, code, ms, graceMs: budget }
          })
        )
      }
    }
  } catch (error) {
    await remove()
    throw error
  }
}
