/**
 * Broken fixtures: each is the real configuration with one deliberate fault,
 * and the rules it must break. Faults are edits (JSON patches on rendered
 * objects or ctlptl documents, text replacements in the Tiltfile or Dockerfile),
 * so a fixture keeps pointing at the real files as they change.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { type ClusterModel, loadModel } from "./ClusterModel.ts"
import type { K8sObject } from "./Objects.ts"

type PatchOp = { op: "add" | "replace" | "remove"; path: string; value?: unknown }
/** A text edit; `regex` makes `from` a multiline regular expression, for a line that other work may still change. */
type TextEdit = { from: string; to: string; occurrence?: "first" | "last"; regex?: boolean }

export interface Fixture {
  readonly name: string
  readonly why: string
  /** What follows `--` on Tilt's command line for this fixture's model (`--observability`). */
  readonly tiltArgs?: Array<string>
  /** Edits of rendered objects; `namespace` narrows to one, `appliedOnly` leaves production alone. */
  readonly manifests?: Array<{
    kind: string
    name: string
    namespace?: string
    appliedOnly?: boolean
    ops: Array<PatchOp>
  }>
  readonly addObjects?: Array<K8sObject>
  readonly removeObjects?: Array<{ kind: string; name: string; namespace?: string }>
  readonly tiltfile?: Array<TextEdit>
  readonly dockerfile?: Array<TextEdit>
  readonly ctlptl?: Array<PatchOp>
  readonly expect: Array<{ rule: string; message: string }>
}

export const loadFixtures = (file: string): Array<Fixture> =>
  parse(readFileSync(join(import.meta.dirname, "..", "fixtures", file), "utf8")) as Array<Fixture>

const pointer = (path: string) =>
  path
    .split("/")
    .slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))

export const applyPatch = (doc: unknown, op: PatchOp): void => {
  const keys = pointer(op.path)
  const last = keys.pop()
  if (last === undefined) throw new Error(`patch path ${op.path} is empty`)
  let parent = doc as Record<string, unknown>
  for (const key of keys) {
    const next = (parent as Record<string, unknown>)[key]
    if (next === undefined || next === null || typeof next !== "object")
      throw new Error(`patch path ${op.path}: ${key} does not exist`)
    parent = next as Record<string, unknown>
  }
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : Number(last)
    if (op.op === "remove") parent.splice(index, 1)
    else if (op.op === "add") parent.splice(index, 0, op.value)
    else parent[index] = op.value
    return
  }
  if (op.op !== "add" && !(last in parent)) throw new Error(`patch path ${op.path} does not exist`)
  if (op.op === "remove") delete parent[last]
  else parent[last] = op.value
}

const editText = (text: string, edits: ReadonlyArray<TextEdit>, what: string): string =>
  edits.reduce((current, edit) => {
    if (edit.regex) {
      const re = new RegExp(edit.from, "m")
      if (!re.test(current)) throw new Error(`${what} fixture: pattern not found: ${edit.from}`)
      return current.replace(re, edit.to)
    }
    const at = edit.occurrence === "last" ? current.lastIndexOf(edit.from) : current.indexOf(edit.from)
    if (at < 0) throw new Error(`${what} fixture: text not found: ${edit.from}`)
    return current.slice(0, at) + edit.to + current.slice(at + edit.from.length)
  }, text)

/** The real model with the fixture's fault applied. Throws if a fault no longer applies (the fixture went stale). */
export const modelWithFault = (fixture: Fixture): { model: ClusterModel; touched: Array<K8sObject> } => {
  const tiltArgs = fixture.tiltArgs ?? []
  const real = loadModel({ tiltArgs })
  const model: ClusterModel = fixture.tiltfile
    ? loadModel({ tiltfileText: editText(real.tiltfile, fixture.tiltfile, "Tiltfile"), tiltArgs })
    : real
  const objects = [model.applied, model.production]
  const touched: Array<K8sObject> = []
  const named = (o: K8sObject, ref: { kind: string; name: string; namespace?: string }) =>
    o.kind === ref.kind &&
    o.metadata?.name === ref.name &&
    (ref.namespace === undefined || o.metadata?.namespace === ref.namespace)
  for (const edit of fixture.manifests ?? []) {
    const targets = (edit.appliedOnly ? [model.applied] : objects).flatMap((list) => list.filter((o) => named(o, edit)))
    if (targets.length === 0) throw new Error(`fixture ${fixture.name}: no ${edit.kind} ${edit.name}`)
    for (const target of targets) for (const op of edit.ops) applyPatch(target, op)
    touched.push(...targets)
  }
  for (const remove of fixture.removeObjects ?? []) {
    for (const list of objects) {
      const i = list.findIndex((o) => named(o, remove))
      if (i >= 0) list.splice(i, 1)
    }
  }
  for (const add of fixture.addObjects ?? []) {
    const object = structuredClone(add)
    model.applied.push(object)
    touched.push(object)
  }
  for (const op of fixture.ctlptl ?? []) applyPatch(model.ctlptl, op)
  const dockerfile = fixture.dockerfile
    ? editText(model.dockerfile, fixture.dockerfile, "Dockerfile")
    : model.dockerfile
  return { model: { ...model, dockerfile }, touched }
}
