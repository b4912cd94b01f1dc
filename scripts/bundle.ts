/**
 * `npm run bundle [-- vote worker result] [--out=build]`: each service as its
 * production image runs it. Per service, in <out>/<service>/:
 *
 *   entry/main.mjs          the service
 *   entry/check-config.mjs  the init container's config check
 *   entry/migrate.mjs       the init container's migrations
 *   assets/                 the shared and the service's own static files
 *
 * Each entry is one ESM file bundled by esbuild from the TypeScript sources,
 * with only the code it reaches: the image needs no node_modules, and a
 * service idles at about 95 MB resident instead of 130 MB for the same code
 * loaded module by module (every module of `effect` its imports name).
 * Assets are found at `../assets/` from the running file, as from the sources.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs"
import { builtinModules } from "node:module"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { build, type Plugin } from "esbuild"

export const bundledServices = ["vote", "worker", "result"] as const
export type BundledService = (typeof bundledServices)[number]

const root = new URL("../", import.meta.url).pathname

const entries = (service: BundledService) => ({
  main: `services/${service}/src/main.ts`,
  "check-config": "packages/platform/src/bin/checkConfig.ts",
  migrate: "packages/store/src/bin/migrate.ts"
})

const assetDirs = (service: BundledService) =>
  ["packages/web/assets", `services/${service}/assets`].filter((dir) => existsSync(join(root, dir)))

/**
 * Node's builtins loaded with require(), not import. Node's ESM wrapper of a
 * builtin reads every one of its exports once, and `node:http`'s include lazy
 * getters (WebSocket, …) that load undici, the 810 KB `fetch` implementation
 * no service uses: 43 ms of start-up and MB of resident memory. require()
 * hands back the module as it is; a getter runs only if the code reads it.
 */
const builtinsThroughRequire: Plugin = {
  name: "builtins-through-require",
  setup(build) {
    const names = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!names.has(args.path)) return undefined
      // The shim's own require() stays a plain require of the builtin.
      if (args.kind === "require-call") return { path: args.path, external: true }
      return { path: args.path, namespace: "builtin-through-require" }
    })
    build.onLoad({ filter: /.*/, namespace: "builtin-through-require" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)})`,
      loader: "js"
    }))
  }
}

/** Bundles one service into `<out>/<service>`, replacing what was there. */
export const bundleService = async (service: BundledService, out: string): Promise<string> => {
  const dir = join(out, service)
  rmSync(dir, { recursive: true, force: true })
  await build({
    absWorkingDir: root,
    entryPoints: entries(service),
    outdir: join(dir, "entry"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    // Workspace packages resolve to their TypeScript sources, as in development.
    conditions: ["source"],
    // Optional native and edge-runtime drivers `pg` looks for and does without.
    external: ["pg-native", "cloudflare:sockets"],
    // CommonJS dependencies (ioredis, pg) call require(); an ESM bundle has none of its own.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);"
    },
    plugins: [builtinsThroughRequire],
    // Not minified, so stack traces in logs read as the sources do. No keepNames either: it renames
    // every closure as it is created (Object.defineProperty per call), which cost 8% of a vote's CPU.
    minify: false,
    legalComments: "none",
    logLevel: "warning"
  })
  const assets = join(dir, "assets")
  mkdirSync(assets, { recursive: true })
  for (const from of assetDirs(service)) {
    for (const name of readdirSync(join(root, from))) {
      if (existsSync(join(assets, name))) throw new Error(`asset ${name} of ${from} is already in the bundle`)
      cpSync(join(root, from, name), join(assets, name))
    }
  }
  return dir
}

if (import.meta.main) {
  const { values, positionals: named } = parseArgs({
    options: { out: { type: "string", default: join(root, "build") } },
    allowPositionals: true
  })
  const out = values.out
  for (const name of named) {
    if (!bundledServices.includes(name as BundledService)) {
      throw new Error(`unknown service ${name}; choose from ${bundledServices.join(", ")}`)
    }
  }
  const services = named.length === 0 ? bundledServices : (named as Array<BundledService>)
  for (const service of services) process.stdout.write(`bundled ${service} into ${await bundleService(service, out)}\n`)
}
