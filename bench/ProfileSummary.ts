/**
 * Summarises a V8 CPU profile (`npm run bench -- --profile` writes one per
 * service to bench/results/profiles/): where the time went, by package and by
 * function, self time only.
 *
 *   node bench/ProfileSummary.ts bench/results/profiles/CPU.<...>.cpuprofile [rows]
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [path, rowsArg] = process.argv.slice(2)
if (path === undefined) throw new Error("usage: node bench/ProfileSummary.ts <file.cpuprofile> [rows]")
const rows = Number(rowsArg ?? 30)
const profile = JSON.parse(readFileSync(path, "utf8")) as Profile
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))

const selfTime = new Map<number, number>()
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
})
const total = [...selfTime.values()].reduce((sum, time) => sum + time, 0)

const shortUrl = (url: string) =>
  url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(packages|services)\//, "$1/")
const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
for (const [id, time] of selfTime) {
  const { functionName, url, lineNumber } = nodes.get(id)!.callFrame
  const file = shortUrl(url)
  const fn = `${functionName || "(anonymous)"} ${file}${file ? `:${lineNumber + 1}` : ""}`
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + time)
  const pkg =
    file === ""
      ? "(native, GC, idle)"
      : file
          .split("/")
          .slice(0, /^(@|services\/|packages\/)/.test(file) ? 2 : 1)
          .join("/")
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time)
}

const print = (title: string, entries: Map<string, number>, limit: number) => {
  process.stdout.write(`${title}\n`)
  for (const [name, time] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    process.stdout.write(`${((100 * time) / total).toFixed(1).padStart(6)}%  ${name}\n`)
  }
}
process.stdout.write(`${path}: ${(total / 1e6).toFixed(1)} s sampled\n`)
print("by package (self time):", byPackage, 15)
print("by function (self time):", byFunction, rows)
