/**
 * The container engine the image suite drives: Docker where an engine runs (a
 * laptop with kind; real base images are pulled), else Debian's buildah and
 * podman as root (no daemon; base images are the local stand-ins of
 * StandIns.ts). With neither, the suite stops with one line saying what to
 * install: it never passes by doing nothing.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

export interface Engine {
  readonly kind: "docker" | "podman"
  /** Whether base images come from a registry (docker) or are made here (podman). */
  readonly pullsBaseImages: boolean
  /** Runs the engine's container CLI (`docker …` or `podman …` with this suite's storage). */
  readonly container: (args: ReadonlyArray<string>, options?: RunOptions) => Promise<Result>
  /** Builds one target of the Dockerfile. */
  readonly build: (options: BuildOptions) => Promise<Result>
  /** Flags `run` needs on this engine besides the pod's own (podman here: runtime limits). */
  readonly runFlags: ReadonlyArray<string>
  /** Where stand-ins and build caches live between runs. */
  readonly cacheDir: string
}

export interface BuildOptions {
  readonly context: string
  readonly target: string
  readonly tag: string
  readonly buildArgs: Record<string, string>
}

export interface RunOptions {
  readonly input?: string | Buffer
  readonly timeoutMs?: number
  readonly allowFailure?: boolean
}

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end, collecting its output; throws on a non-zero exit unless allowed. */
export const run = (command: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk
    })
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs)
    child.once("error", reject)
    child.once("exit", (code) => {
      if (timer !== undefined) clearTimeout(timer)
      const result = { code, stdout, stderr }
      if (code !== 0 && options.allowFailure !== true) {
        reject(new Error(`${command} ${args.join(" ")} exited ${code}\n${stderr.slice(-4_000)}`))
      } else resolve(result)
    })
    child.stdin.end(options.input)
  })

const works = (command: string, args: ReadonlyArray<string>) => {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

const cacheRoot = () =>
  process.env.VOTING_IMAGE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "voting-app", "images")

const docker = (cacheDir: string): Engine => ({
  kind: "docker",
  pullsBaseImages: true,
  cacheDir,
  runFlags: [],
  container: (args, options) => run("docker", args, options),
  build: ({ context, target, tag, buildArgs }) =>
    run("docker", [
      "build",
      "--target",
      target,
      ...Object.entries(buildArgs).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]),
      "-t",
      tag,
      context
    ])
})

/**
 * podman and buildah as root, each with this suite's own storage. Overlay where
 * the kernel allows it (a tenth of vfs's time and disk), else vfs. runc, not
 * crun (crun refuses this machine's hybrid cgroups); host network only, and the
 * default ulimits, which a container here may not raise.
 */
const podman = (cacheDir: string, driver: string): Engine => {
  const storage = [
    "--root",
    join(cacheDir, `storage-${driver}`),
    "--runroot",
    join(cacheDir, "run"),
    "--storage-driver",
    driver
  ]
  const podmanGlobal = [...storage, "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
  // The build's RUN steps reach the npm registry through this machine's proxy, whose CA only the
  // host trusts: lend the build the host's bundle (a mount for RUN steps only, never in an image layer).
  const npmrc = join(cacheDir, "npmrc")
  writeFileSync(npmrc, "cafile=/etc/ssl/certs/ca-certificates.crt\n")
  return {
    kind: "podman",
    pullsBaseImages: false,
    cacheDir,
    // --passwd=false: podman otherwise adds an /etc/passwd entry for the --user uid, which
    // Kubernetes never does, and would hide every "needs a passwd entry" defect.
    runFlags: ["--passwd=false", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"],
    container: (args, options) => run("podman", [...podmanGlobal, ...args], options),
    build: ({ context, target, tag, buildArgs }) =>
      run("buildah", [
        ...storage,
        "bud",
        "--isolation",
        "chroot",
        "--pull=never",
        "--network",
        "host",
        "--layers",
        "--target",
        target,
        ...Object.entries(buildArgs).flatMap(([key, value]) => ["--build-arg", `${key}=${value}`]),
        "-v",
        "/etc/ssl/certs:/etc/ssl/certs:ro",
        "-v",
        `${npmrc}:/root/.npmrc:ro`,
        "-t",
        tag,
        context
      ])
  }
}

/** Overlay needs kernel support inside this sandbox: try it once on an empty image. */
const overlayWorks = (cacheDir: string) => {
  const probe = join(cacheDir, "overlay-probe")
  mkdirSync(join(probe, "empty"), { recursive: true })
  return works("sh", [
    "-c",
    `tar -C "${probe}/empty" -cf - . | podman --root "${probe}/storage" --runroot "${probe}/run" --storage-driver overlay import - probe:1 >/dev/null && podman --root "${probe}/storage" --runroot "${probe}/run" --storage-driver overlay rmi probe:1 >/dev/null`
  ])
}

export const detectEngine = (): Engine => {
  const cacheDir = cacheRoot()
  mkdirSync(cacheDir, { recursive: true })
  if (process.env.VOTING_IMAGE_ENGINE !== "podman" && works("docker", ["info"])) return docker(cacheDir)
  const root = process.getuid?.() === 0
  if (root && works("podman", ["--version"]) && works("buildah", ["--version"]) && works("runc", ["--version"])) {
    return podman(cacheDir, overlayWorks(cacheDir) ? "overlay" : "vfs")
  }
  throw new Error(
    "the image suite needs a container engine: a running Docker engine, or (as root) Debian's podman, buildah, runc and debootstrap: apt-get install podman buildah runc debootstrap"
  )
}
