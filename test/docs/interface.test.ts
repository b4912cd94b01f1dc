/**
 * Keeps docs/interface.md true. Its configuration-key, endpoint and command tables are compared with what
 * the code reads, serves and runs, in both directions; each checker is also run on a document or source
 * with something taken out or added, to prove it notices. And no tracked file may point outside the
 * repository: a clone has nothing there.
 */
import { execFileSync } from "node:child_process"
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs"
import { dirname, isAbsolute, join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { configKeys, Health, HealthRoutes } from "@voting/platform"
import { assetRoutes } from "@voting/web"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { describe, expect, it } from "vitest"

const repoRoot = resolve(import.meta.dirname, "../..")
const docPath = "docs/interface.md"
const readDoc = () => readFileSync(join(repoRoot, docPath), "utf8")

interface SourceFile {
  /** Relative to the repository root, with forward slashes. */
  readonly path: string
  readonly text: string
}

const tsFilesUnder = (dir: string): Array<SourceFile> => {
  const found: Array<SourceFile> = []
  const walk = (relativeDir: string) => {
    for (const entry of readdirSync(join(repoRoot, relativeDir), { withFileTypes: true })) {
      const path = `${relativeDir}/${entry.name}`
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".ts")) found.push({ path, text: readFileSync(join(repoRoot, path), "utf8") })
    }
  }
  if (existsSync(join(repoRoot, dir))) walk(dir)
  return found
}

const workspaces = (kind: "packages" | "services") =>
  readdirSync(join(repoRoot, kind), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()

/** The shipped code: every package's and service's src/. Tests, bench/ and scripts/ are tools, not the interface. */
const sourcesOf = (kind: "packages" | "services", name: string) => tsFilesUnder(`${kind}/${name}/src`)
const allSources = () => [
  ...workspaces("packages").flatMap((name) => sourcesOf("packages", name)),
  ...workspaces("services").flatMap((name) => sourcesOf("services", name))
]

// ---- Reading the document ----------------------------------------------------------------------------

/** The text under a heading (given with its #s), up to the next heading of the same or a higher level. */
const section = (doc: string, heading: string): string => {
  const lines = doc.split("\n")
  const start = lines.indexOf(heading)
  if (start < 0) throw new Error(`${docPath} has no heading "${heading}"`)
  const level = heading.indexOf(" ")
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => new RegExp(`^#{1,${level}} `).test(line))
  return (end < 0 ? rest : rest.slice(0, end)).join("\n")
}

interface Table {
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim())

/** Every Markdown table in the text: its header cells and its rows' cells. */
const tables = (text: string): Array<Table> => {
  const found: Array<Table> = []
  let block: Array<string> = []
  const flush = () => {
    if (block.length >= 2 && /^\|?[\s:|-]+\|?$/.test(block[1]!.trim())) {
      found.push({ header: cells(block[0]!), rows: block.slice(2).map(cells) })
    }
    block = []
  }
  for (const line of text.split("\n")) {
    if (line.trim().startsWith("|")) block.push(line)
    else flush()
  }
  flush()
  return found
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)

const keyPattern = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/

/** The keys in the first column of the tables headed "key" under a heading. */
const keysIn = (text: string) =>
  new Set(
    tables(text)
      .filter((table) => table.header[0]?.toLowerCase() === "key")
      .flatMap((table) => table.rows.flatMap((row) => backticked(row[0] ?? "").filter((key) => keyPattern.test(key))))
  )

const configurationHeading = "## Configuration"
const componentKeysHeading = "### Keys the components read"

const documentedKeys = (doc: string) => ({
  all: keysIn(section(doc, configurationHeading)),
  components: keysIn(section(doc, componentKeysHeading))
})

/** "service METHOD /path" for every row of the endpoint table. */
const documentedRoutes = (doc: string): Set<string> => {
  const routes = new Set<string>()
  for (const table of tables(section(doc, "## Endpoints"))) {
    if (table.header[0] !== "service" || table.header[1] !== "request") continue
    for (const row of table.rows) {
      const services = (row[0] ?? "").split(/\s*,\s*|\s+and\s+/).filter(Boolean)
      const request = /`([A-Z]+) (\/[^`\s]*)`/.exec(row[1] ?? "")
      if (!request) throw new Error(`${docPath}: endpoint row without a \`METHOD /path\`: ${row.join(" | ")}`)
      for (const service of services) routes.add(`${service} ${request[1]} ${request[2]}`)
    }
  }
  return routes
}

/** The npm script a command runs, if it runs one: `npm start`, `npm test`, `npm run <name>`. */
const scriptOf = (command: string): string | undefined => {
  const match = /^npm (?:run(?:-script)? ([\w:.-]+)|(start|test|stop|restart)\b)/.exec(command.trim())
  return match ? (match[1] ?? match[2]) : undefined
}

/** The scripts that have a row of their own in the command tables. */
const documentedScripts = (doc: string): Set<string> =>
  new Set(
    tables(section(doc, "## Commands")).flatMap((table) =>
      table.rows.flatMap((row) => backticked(row[0] ?? "").flatMap((command) => scriptOf(command) ?? []))
    )
  )

/** Every script the document tells someone to run, anywhere in it. */
const mentionedScripts = (doc: string): Set<string> =>
  new Set(
    [...doc.matchAll(/\bnpm (?:run(?:-script)? [\w:.-]+|start|test|stop|restart)\b/g)].flatMap(
      (match) => scriptOf(match[0]) ?? []
    )
  )

// ---- Reading the code --------------------------------------------------------------------------------

/** Keys passed to the config readers (AppConfig's `read` and `optional`, ConfigSources' `lookup`). */
const configCallKeys = (files: ReadonlyArray<SourceFile>) =>
  new Set(
    files.flatMap((file) =>
      [...file.text.matchAll(/\b(?:read|optional|lookup)\(\s*"([^"]+)"/g)].map((match) => match[1]!)
    )
  )

/**
 * Variables read straight from the environment: `process.env.X`, `env.X`, `env["X"]`, and, in a file that
 * looks a variable up by a computed name (`env[key]`), every string literal shaped like a key.
 */
const environmentKeys = (files: ReadonlyArray<SourceFile>) => {
  const keys = new Set<string>()
  for (const { text } of files) {
    for (const match of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) keys.add(match[1]!)
    for (const match of text.matchAll(/\benv\[\s*"([^"]+)"\s*\]/g)) keys.add(match[1]!)
    if (/\benv\[\s*[A-Za-z_$][\w$]*\s*\]/.test(text)) {
      for (const match of text.matchAll(/"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"/g)) keys.add(match[1]!)
    }
  }
  return keys
}

interface CodeKeys {
  /** Looked up through ConfigSources (config dir, secrets dir, environment): the registry in ConfigKeys.ts. */
  readonly components: ReadonlySet<string>
  /** Read from the environment directly. */
  readonly environment: ReadonlySet<string>
}

/** Problems with the registry itself: a key it lists that nothing reads, or a key read that it lacks. */
const registryProblems = (registry: ReadonlyArray<string>, files: ReadonlyArray<SourceFile>) => {
  const read = configCallKeys(files)
  return [
    ...registry.filter((key) => !read.has(key)).map((key) => `${key} is in configKeys but no code reads it`),
    ...[...read].filter((key) => !registry.includes(key)).map((key) => `${key} is read but missing from configKeys`)
  ]
}

const keyProblems = (doc: string, code: CodeKeys): Array<string> => {
  const documented = documentedKeys(doc)
  const problems: Array<string> = []
  for (const key of code.components) {
    if (!documented.components.has(key))
      problems.push(`${key}: read by the components, not in "${componentKeysHeading}"`)
  }
  for (const key of code.environment) {
    if (!documented.all.has(key)) problems.push(`${key}: read from the environment, not documented`)
  }
  for (const key of documented.all) {
    if (!code.components.has(key) && !code.environment.has(key))
      problems.push(`${key}: documented, but no code reads it`)
  }
  for (const key of documented.components) {
    if (!code.components.has(key)) problems.push(`${key}: documented as a component key, but not in configKeys`)
  }
  return problems
}

/** A router that only writes down what is added to it, to list the routes a route layer defines. */
const recordRoutes = async (layer: Layer.Layer<never, unknown, unknown>): Promise<Array<string>> => {
  const routes: Array<string> = []
  const unsupported = (what: string) => () => {
    throw new Error(`the route check does not follow ${what}`)
  }
  const recorder = {
    add: (method: string, path: string) => Effect.sync(() => routes.push(`${method} ${path}`)),
    addAll: (added: ReadonlyArray<{ readonly method: string; readonly path: string }>) =>
      Effect.sync(() => routes.push(...added.map((route) => `${route.method} ${route.path}`))),
    addGlobalMiddleware: () => Effect.void,
    prefixed: unsupported("prefixed routers"),
    asHttpEffect: unsupported("serving")
  } as unknown as HttpRouter.HttpRouter
  const built = Layer.build(layer.pipe(Layer.provide(Layer.succeed(HttpRouter.HttpRouter, recorder))))
  await Effect.runPromise(Effect.scoped(built) as Effect.Effect<unknown, unknown>)
  return routes
}

const asLayer = (layer: unknown) => layer as Layer.Layer<never, unknown, unknown>

/** Route-making calls this check does not follow; a service using one must teach the check first. */
const unfollowed =
  /\bHttpRouter\.(?:add|addAll|route|prefixed)\(|\.prefixed\(|\.prefix\(\s*"\/|HttpStaticServer|HttpApiEndpoint\.make\(/

/** The platform's and web package's route layers, the only places outside services/ that define routes. */
const sharedRouteFiles = ["packages/platform/src/Health.ts", "packages/web/src/Assets.ts"]

interface ServiceRoutes {
  readonly routes: Set<string>
  readonly problems: Array<string>
}

/**
 * "service METHOD /path" for everything a service serves: the literal `router.add("METHOD", "/path", ...)`
 * and `HttpApiEndpoint.<method>("name", "/path", ...)` in its sources; the assets its `assetRoutes({ names })`
 * call serves (listed by running assetRoutes itself); and, when it calls serveHttp or serveHealth, the
 * health routes (listed by running HealthRoutes). Any route definition in a form it does not parse is a
 * problem, so a new route cannot slip past it.
 */
const serviceRoutes = async (service: string, files: ReadonlyArray<SourceFile>): Promise<ServiceRoutes> => {
  const routes = new Set<string>()
  const problems: Array<string> = []
  const add = (route: string) => routes.add(`${service} ${route}`)
  for (const { path, text } of files) {
    const adds = [...text.matchAll(/\brouter\.add\(/g)].length
    const literal = [...text.matchAll(/\brouter\.add\(\s*"([A-Z]+)"\s*,\s*"(\/[^"]*)"/g)]
    for (const match of literal) add(`${match[1]} ${match[2]}`)
    if (literal.length !== adds) problems.push(`${path}: a router.add without a literal method and path`)
    const endpoints = [...text.matchAll(/\bHttpApiEndpoint\.(\w+)\(\s*"[^"]*"\s*,\s*"(\/[^"]*)"/g)]
    for (const match of endpoints) add(`${match[1] === "del" ? "DELETE" : match[1]!.toUpperCase()} ${match[2]}`)
    if (endpoints.length !== [...text.matchAll(/\bHttpApiEndpoint\.\w+\(/g)].length) {
      problems.push(`${path}: an HttpApiEndpoint without a literal path`)
    }
    if (unfollowed.test(text)) problems.push(`${path}: defines routes in a way this check does not follow`)
    const assetCalls = [...text.matchAll(/\bassetRoutes\(/g)].length
    const assets = [...text.matchAll(/\bassetRoutes\(\s*\{[^}]*?\bnames:\s*\[([^\]]*)\]/g)]
    if (assets.length !== assetCalls) problems.push(`${path}: an assetRoutes call without a literal names list`)
    for (const match of assets) {
      const names = [...match[1]!.matchAll(/"([^"]+)"/g)].map((name) => name[1]!)
      const base = pathToFileURL(join(repoRoot, "services", service, "assets/"))
      for (const route of await recordRoutes(asLayer(assetRoutes({ base, names })))) add(route)
    }
  }
  if (files.some(({ text }) => /\bserve(?:Http|Health)\(/.test(text))) {
    for (const route of await recordRoutes(asLayer(HealthRoutes.pipe(Layer.provide(Health.layer))))) add(route)
  }
  return { routes, problems }
}

/** Route definitions in packages/ outside the two shared route layers, which no service list would show. */
const strayRouteProblems = (files: ReadonlyArray<SourceFile>) =>
  files
    .filter(({ path }) => !sharedRouteFiles.includes(path))
    .filter(({ text }) => /\brouter\.add(?:All)?\(|\bHttpApiEndpoint\.\w+\(/.test(text) || unfollowed.test(text))
    .map(({ path }) => `${path}: defines routes outside the services and the shared route layers`)

const routeProblems = (doc: string, served: ReadonlySet<string>): Array<string> => {
  const documented = documentedRoutes(doc)
  return [
    ...[...served].filter((route) => !documented.has(route)).map((route) => `${route}: served, not documented`),
    ...[...documented].filter((route) => !served.has(route)).map((route) => `${route}: documented, not served`)
  ]
}

const codeRoutes = async () => {
  const served = new Set<string>()
  const problems = strayRouteProblems(workspaces("packages").flatMap((name) => sourcesOf("packages", name)))
  for (const service of workspaces("services")) {
    const found = await serviceRoutes(service, sourcesOf("services", service))
    for (const route of found.routes) served.add(route)
    problems.push(...found.problems)
  }
  return { served, problems }
}

const packageScripts = (): Record<string, string> =>
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).scripts ?? {}

const scriptProblems = (doc: string, scripts: Readonly<Record<string, string>>): Array<string> => {
  const documented = documentedScripts(doc)
  return [
    ...Object.keys(scripts)
      .filter((name) => !documented.has(name))
      .map((name) => `npm script "${name}": in package.json, not in the command tables`),
    ...[...mentionedScripts(doc)]
      .filter((name) => !Object.hasOwn(scripts, name))
      .map((name) => `npm script "${name}": documented, not in package.json`)
  ]
}

// ---- Pointing outside the repository -----------------------------------------------------------------

// Spelled in pieces so this file does not contain what it looks for.
const sharedSibling = ["..", "shared"].join("/")

const withoutFencedCode = (markdown: string) => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")

/** Link targets in Markdown: inline links and images, reference definitions, and HTML href/src. */
const linkTargets = (markdown: string): Array<string> => {
  const text = withoutFencedCode(markdown)
  return [
    ...[...text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)].map((match) => match[1]!),
    ...[...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)].map((match) => match[1]!),
    ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((match) => match[1]!)
  ]
}

/** Where a relative link in `file` leads, or undefined for a link that is not a path (a URL, an anchor). */
const linkDestination = (root: string, file: string, target: string): string | undefined => {
  const path = decodeURI(target.replace(/[#?].*$/, ""))
  if (path === "" || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith("//")) return undefined
  return path.startsWith("/") ? join(root, path) : resolve(root, dirname(file), path)
}

const outsidePointers = (root: string, files: ReadonlyArray<SourceFile>): Array<string> => {
  const problems: Array<string> = []
  for (const { path, text } of files) {
    if (text.includes(sharedSibling)) problems.push(`${path}: mentions ${sharedSibling}, outside the repository`)
    if (!/\.(?:md|markdown)$/i.test(path)) continue
    for (const target of linkTargets(text)) {
      const destination = linkDestination(root, path, target)
      if (destination === undefined) continue
      const inside = relative(root, destination)
      if (inside.startsWith("..") || isAbsolute(inside))
        problems.push(`${path}: links to ${target}, outside the repository`)
    }
  }
  return problems
}

const trackedTextFiles = (): Array<SourceFile> =>
  execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" })
    .split("\0")
    .filter(Boolean)
    .flatMap((path) => {
      const full = join(repoRoot, path)
      // Deleted in the work tree, a symlink, or a submodule: nothing to read.
      if (!existsSync(full) || !lstatSync(full).isFile()) return []
      const text = readFileSync(full, "utf8")
      return text.includes("\0") ? [] : [{ path, text }]
    })

// ---- The checks --------------------------------------------------------------------------------------

/** The document without the table rows that contain `marker`. */
const withoutRow = (doc: string, marker: string) => {
  const lines = doc.split("\n")
  const kept = lines.filter((line) => !(line.trim().startsWith("|") && line.includes(marker)))
  expect(kept.length, `a table row containing ${marker}`).toBeLessThan(lines.length)
  return kept.join("\n")
}

/** The document with `row` added after the table row that contains `marker`. */
const withRowAfter = (doc: string, marker: string, row: string) => {
  const lines = doc.split("\n")
  const at = lines.findIndex((line) => line.trim().startsWith("|") && line.includes(marker))
  expect(at, `a table row containing ${marker}`).toBeGreaterThanOrEqual(0)
  return [...lines.slice(0, at + 1), row, ...lines.slice(at + 1)].join("\n")
}

const codeKeys = (): CodeKeys => ({ components: new Set(configKeys), environment: environmentKeys(allSources()) })

describe(`${docPath}: configuration keys`, () => {
  it("configKeys lists exactly the keys the config readers are called with", () => {
    expect(registryProblems(configKeys, allSources())).toEqual([])
  })

  it("documents every key the code reads, and only those", () => {
    expect(keyProblems(readDoc(), codeKeys())).toEqual([])
  })

  it("notices a key left out, a key that nothing reads, and a new key in the code", () => {
    const doc = readDoc()
    const code = codeKeys()
    expect(keyProblems(withoutRow(doc, "| `REDIS_KEY_PREFIX` |"), code)).toEqual([
      `REDIS_KEY_PREFIX: read by the components, not in "${componentKeysHeading}"`
    ])
    expect(keyProblems(withoutRow(doc, "| `DATA_DIR` |"), code)).toEqual([
      "DATA_DIR: read from the environment, not documented"
    ])
    expect(keyProblems(withRowAfter(doc, "| `LOG_LEVEL` |", "| `POLL_INTERVAL` | `2` | seconds |"), code)).toEqual([
      "POLL_INTERVAL: documented, but no code reads it",
      "POLL_INTERVAL: documented as a component key, but not in configKeys"
    ])
    const source = (text: string): Array<SourceFile> => [{ path: "services/x/src/X.ts", text }]
    expect(configCallKeys(source('const port = read("ADMIN_PORT", asPort, Option.none())'))).toEqual(
      new Set(["ADMIN_PORT"])
    )
    expect(registryProblems(["PORT"], source('read("PORT", asPort); optional("ADMIN_PORT", asPort)'))).toEqual([
      "ADMIN_PORT is read but missing from configKeys"
    ])
    expect(registryProblems(["PORT", "OLD_KEY"], source('read("PORT", asPort)'))).toEqual([
      "OLD_KEY is in configKeys but no code reads it"
    ])
    expect(
      environmentKeys(
        source('const a = process.env.CACHE_DIR; const b = env["TMP_DIR"]\nconst c = (key) => env[key]; c("WEB_PORT")')
      )
    ).toEqual(new Set(["CACHE_DIR", "TMP_DIR", "WEB_PORT"]))
  })
})

describe(`${docPath}: endpoints`, () => {
  it("documents every route a service serves, and only those", async () => {
    const { served, problems } = await codeRoutes()
    expect(problems).toEqual([])
    // The check found the routes the services are known to have; an empty list would prove nothing.
    expect(served).toContain("vote POST /api/vote")
    expect(served).toContain("worker GET /readyz")
    expect(served).toContain("result GET /api/results")
    expect(routeProblems(readDoc(), served)).toEqual([])
  })

  it("notices a route left out, a route not served, and a route it cannot parse", async () => {
    const doc = readDoc()
    const { served } = await codeRoutes()
    expect(routeProblems(withoutRow(doc, "| `GET /api/results/stream` |"), served)).toEqual([
      "result GET /api/results/stream: served, not documented"
    ])
    expect(
      routeProblems(withRowAfter(doc, "| `POST /api/vote` |", "| vote | `DELETE /api/vote` | `204` |"), served)
    ).toEqual(["vote DELETE /api/vote: documented, not served"])

    const vote = (text: string) => serviceRoutes("vote", [{ path: "services/vote/src/More.ts", text }])
    expect(await vote('yield* router.add("DELETE", "/api/vote", handler)')).toEqual({
      routes: new Set(["vote DELETE /api/vote"]),
      problems: []
    })
    expect((await vote("yield* router.add(method, path, handler)")).problems).toEqual([
      "services/vote/src/More.ts: a router.add without a literal method and path"
    ])
    expect((await vote('HttpRouter.add("GET", "/x", response)')).problems).toEqual([
      "services/vote/src/More.ts: defines routes in a way this check does not follow"
    ])
    expect((await vote('serveHealth("vote")')).routes).toEqual(
      new Set(["vote GET /livez", "vote GET /readyz", "vote GET /metrics"])
    )
    expect(
      strayRouteProblems([{ path: "packages/web/src/Extra.ts", text: 'yield* router.add("GET", "/x", ok)' }])
    ).toEqual(["packages/web/src/Extra.ts: defines routes outside the services and the shared route layers"])
  })
})

describe(`${docPath}: commands`, () => {
  it("documents every npm script, and names no script that does not exist", () => {
    expect(scriptProblems(readDoc(), packageScripts())).toEqual([])
  })

  it("notices a script left out and a script that does not exist", () => {
    const doc = readDoc()
    const scripts = packageScripts()
    expect(scriptProblems(withoutRow(doc, "| `npm run bench` |"), scripts)).toEqual([
      'npm script "bench": in package.json, not in the command tables'
    ])
    expect(scriptProblems(`${doc}\nThen \`npm run deploy\`.\n`, scripts)).toEqual([
      'npm script "deploy": documented, not in package.json'
    ])
    expect(scriptProblems(doc, { ...scripts, release: "node scripts/release.ts" })).toEqual([
      'npm script "release": in package.json, not in the command tables'
    ])
  })
})

describe("the repository points nowhere outside itself", () => {
  it("no tracked file mentions the sibling shared folder or links outside the repository", () => {
    const files = trackedTextFiles()
    expect(files.map((file) => file.path)).toContain("README.md")
    expect(outsidePointers(repoRoot, files)).toEqual([])
  })

  it("notices such a mention or link, and lets links inside the repository and URLs pass", () => {
    const files: Array<SourceFile> = [
      { path: "README.md", text: `See [the contract](${sharedSibling}/CONTRACT.md).` },
      { path: "docs/a.md", text: "[up](../../elsewhere.md) [ref]: ../../other.md\n[def]: ../../defined.md" },
      { path: "docs/b.md", text: '<a href="../../x.html">x</a> ![img](/docs/pic.png "title")' },
      { path: "src/c.ts", text: `// read ${sharedSibling}/notes.txt` },
      {
        path: "docs/fine.md",
        text: "[i](interface.md) [r](../README.md#tests) [a](#anchor) [u](https://example.com/../x) [m](mailto:a@b)\n```\n[in code](../../../nowhere.md)\n```"
      }
    ]
    expect(outsidePointers(repoRoot, files)).toEqual([
      `README.md: mentions ${sharedSibling}, outside the repository`,
      `README.md: links to ${sharedSibling}/CONTRACT.md, outside the repository`,
      "docs/a.md: links to ../../elsewhere.md, outside the repository",
      "docs/a.md: links to ../../defined.md, outside the repository",
      "docs/b.md: links to ../../x.html, outside the repository",
      `src/c.ts: mentions ${sharedSibling}, outside the repository`
    ])
  })
})
