/** The manifests render, and every rendered object passes strict schema validation. */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { loadModel, observabilityArgs, repoRoot } from "./support/ClusterModel.ts"
import { kustomize } from "./support/Kubectl.ts"
import { schemaSource, validateAll } from "./support/SchemaValidation.ts"

const kustomizationDirs = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return kustomizationDirs(path)
    return entry === "kustomization.yaml" ? [dir] : []
  })

const manifestsDir = join(repoRoot, "manifests")
const all = kustomizationDirs(manifestsDir).map((dir) => ({
  dir: relative(repoRoot, dir),
  kind: (parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as { kind: string }).kind
}))

describe("kustomizations", () => {
  it.each(all.filter((k) => k.kind === "Kustomization").map((k) => [k.dir]))("%s builds", (dir) => {
    expect(kustomize(join(repoRoot, dir)).length).toBeGreaterThan(0)
  })

  it("every component is used by a kustomization", () => {
    const components = all.filter((k) => k.kind === "Component").map((k) => k.dir)
    const used = all.flatMap((k) => {
      const spec = parse(readFileSync(join(repoRoot, k.dir, "kustomization.yaml"), "utf8")) as {
        components?: Array<string>
      }
      return (spec.components ?? []).map((c) => relative(repoRoot, join(repoRoot, k.dir, c)))
    })
    expect(components.length).toBeGreaterThan(0)
    expect(used).toEqual(expect.arrayContaining(components))
  })

  it("a kustomization with a missing resource fails, naming the file", () => {
    expect(() => kustomize(join(import.meta.dirname, "fixtures/kustomize/missing-resource"))).toThrow(
      /voting-extra\.yaml/
    )
  })

  it("the dev component refuses a base whose root filesystem is already writable", () => {
    expect(() => kustomize(join(import.meta.dirname, "fixtures/kustomize/component-on-wrong-base"))).toThrow(
      /readOnlyRootFilesystem failed: test failed/
    )
  })

  it("the dev variant differs from production only in what the dev component patches", () => {
    const production = kustomize(manifestsDir)
    const dev = kustomize(join(manifestsDir, "dev"))
    const pointer = (path: string) => path.split("/").slice(1)
    const at = (o: unknown, path: string) =>
      pointer(path).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o)
    const put = (o: unknown, path: string, value: unknown) => {
      const keys = pointer(path)
      const parent = at(o, `/${keys.slice(0, -1).join("/")}`) as Record<string, unknown>
      parent[keys.at(-1) as string] = value
    }
    // What manifests/components/dev-live-update may change on the app Deployments; a new dev-only patch adds its path.
    const devOnly = [
      "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
      "/spec/template/spec/containers/0/resources/requests/memory",
      "/spec/template/spec/containers/0/resources/limits/memory"
    ]
    const apps = new Set(["vote", "result", "worker"])
    const relaxed = dev.filter((o) => o.kind === "Deployment" && apps.has(o.metadata.name))
    expect(relaxed.map((o) => at(o, devOnly[0] as string))).toEqual([false, false, false])
    for (const o of relaxed) {
      const prod = production.find((p) => p.kind === o.kind && p.metadata.name === o.metadata.name)
      for (const path of devOnly) put(o, path, at(prod, path))
    }
    expect(dev).toEqual(production)
  })

  it("the app with the observability flag differs from the dev app only in what the observability component adds", () => {
    const dev = kustomize(join(manifestsDir, "dev"))
    const withStack = kustomize(join(manifestsDir, "dev-observability"))
    const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`
    const added = withStack.filter((o) => !dev.some((d) => key(d) === key(o))).map(key)
    expect(added.sort()).toEqual(["Service/result-metrics", "Service/vote-metrics", "Service/worker-metrics"])
    const changed = withStack
      .filter((o) => dev.some((d) => key(d) === key(o) && JSON.stringify(d) !== JSON.stringify(o)))
      .map(key)
    expect(changed.sort()).toEqual([
      "ConfigMap/voting-config",
      "Deployment/result",
      "Deployment/vote",
      "Deployment/worker",
      "NetworkPolicy/result",
      "NetworkPolicy/vote",
      "NetworkPolicy/worker"
    ])
    const config = (list: typeof dev) => list.find((o) => key(o) === "ConfigMap/voting-config")?.data ?? {}
    const extraKeys = Object.keys(config(withStack)).filter((k) => !(k in config(dev)))
    expect(extraKeys.sort()).toEqual(["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"])
    // The Deployments change only by the annotation that rolls their pods when the flag flips.
    for (const name of ["vote", "result", "worker"]) {
      const before = structuredClone(dev.find((o) => key(o) === `Deployment/${name}`))
      const after = structuredClone(withStack.find((o) => key(o) === `Deployment/${name}`))
      expect(after?.spec.template.metadata.annotations).toEqual({ "voting-app/observability": "on" })
      delete after?.spec.template.metadata.annotations
      expect(after).toEqual(before)
    }
  })
})

describe(`strict schema validation (Kubernetes ${schemaSource.kubernetes}, ${schemaSource.package} ${schemaSource.version})`, () => {
  it("every object Tilt applies and every production object is valid", async () => {
    const model = loadModel()
    expect(model.applied.length).toBeGreaterThan(30)
    expect(await validateAll([...model.production, ...model.applied])).toEqual([])
  })

  it("every object Tilt applies with the observability stack on is valid", async () => {
    const model = loadModel({ tiltArgs: observabilityArgs })
    expect(model.applied.filter((o) => o.metadata.namespace === "observability").length).toBeGreaterThan(10)
    expect(await validateAll(model.applied)).toEqual([])
  })
})
