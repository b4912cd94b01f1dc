/**
 * Strict validation of Kubernetes objects against the API schema.
 *
 * Source: the `kubernetes-models` package (5.1.0), whose per-definition
 * validators are ajv code generated from the Kubernetes v1.36.0 OpenAPI spec.
 * They check types, required fields, enums and formats (quantities, int32,
 * int-or-string). Like the API's own schema they allow unknown fields, so this
 * module adds the strict part: every field a definition declares is read by its
 * generated validator (ajv tests each declared property by name), so a field the
 * validator never read is one the schema does not declare, and is reported as
 * unknown. Maps (labels, data, resources.limits) are enumerated by the validator
 * and so accept any key, as the schema says they should.
 */

import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { Issue, K8sObject } from "./Objects.ts"
import { idOf } from "./Objects.ts"

export const schemaSource = { package: "kubernetes-models", version: "5.1.0", kubernetes: "v1.36.0" } as const

type Validate = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }> | null
}

const require = createRequire(import.meta.url)
const schemasDir = join(dirname(require.resolve("kubernetes-models/package.json")), "_schemas")

/** apps/v1 Deployment -> IoK8sApiAppsV1Deployment; v1 Service -> IoK8sApiCoreV1Service. */
export const definitionName = (apiVersion: string, kind: string): string => {
  const [group, version] = apiVersion.includes("/") ? (apiVersion.split("/") as [string, string]) : ["core", apiVersion]
  const groupWord = group.split(".")[0] ?? group
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)
  return `IoK8sApi${cap(groupWord)}${cap(version)}${kind}`
}

/**
 * The group-versions Kubernetes v1.36 serves (GA). kubernetes-models merges the
 * specs of older releases to keep removed APIs typed (extensions/v1beta1 and
 * the like), so its having a validator does not mean the API still exists.
 */
export const servedGroupVersions = new Set([
  "v1",
  "apps/v1",
  "batch/v1",
  "autoscaling/v1",
  "autoscaling/v2",
  "policy/v1",
  "networking.k8s.io/v1",
  "rbac.authorization.k8s.io/v1",
  "storage.k8s.io/v1",
  "discovery.k8s.io/v1",
  "scheduling.k8s.io/v1",
  "node.k8s.io/v1",
  "coordination.k8s.io/v1",
  "certificates.k8s.io/v1",
  "events.k8s.io/v1",
  "admissionregistration.k8s.io/v1",
  "apiextensions.k8s.io/v1",
  "flowcontrol.apiserver.k8s.io/v1",
  "resource.k8s.io/v1"
])

const validators = new Map<string, Validate | undefined>()

const validatorFor = async (apiVersion: string, kind: string): Promise<Validate | undefined> => {
  const name = definitionName(apiVersion, kind)
  if (!validators.has(name)) {
    const file = join(schemasDir, `${name}.js`)
    validators.set(name, existsSync(file) ? ((await import(file)) as { validate: Validate }).validate : undefined)
  }
  return validators.get(name)
}

/** Wraps data so every property read and every key enumeration is recorded per object. */
const traced = (root: unknown) => {
  const reads = new WeakMap<object, Set<string>>()
  const enumerated = new WeakSet<object>()
  const proxies = new WeakMap<object, object>()
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value
    const existing = proxies.get(value)
    if (existing) return existing
    const seen = new Set<string>()
    reads.set(value, seen)
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") seen.add(key)
        return wrap(Reflect.get(target, key, receiver))
      },
      has(target, key) {
        if (typeof key === "string") seen.add(key)
        return Reflect.has(target, key)
      },
      ownKeys(target) {
        enumerated.add(target)
        return Reflect.ownKeys(target)
      }
    })
    proxies.set(value, proxy)
    return proxy
  }
  const unknownFields = (): Array<string> => {
    const found: Array<string> = []
    const walk = (value: unknown, path: string) => {
      if (value === null || typeof value !== "object") return
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) walk(item, `${path}/${i}`)
        return
      }
      const seen = reads.get(value)
      for (const key of Object.keys(value)) {
        if (!enumerated.has(value) && !seen?.has(key)) found.push(`${path}/${key}`)
        walk((value as Record<string, unknown>)[key], `${path}/${key}`)
      }
    }
    walk(root, "")
    return found
  }
  return { proxy: wrap(root), unknownFields }
}

const describe = (e: NonNullable<Validate["errors"]>[number]): string => {
  const at = e.instancePath || "/"
  switch (e.keyword) {
    case "required":
      return `${at}: missing required field ${String(e.params.missingProperty)}`
    case "type":
      return `${at}: wrong type, expected ${String(e.params.type)}`
    case "enum":
      return `${at}: must be one of ${JSON.stringify(e.params.allowedValues)}`
    case "format":
      return `${at}: not a valid ${String(e.params.format)}`
    default:
      return `${at}: ${e.keyword} ${JSON.stringify(e.params)}`
  }
}

export const validateObject = async (object: K8sObject): Promise<Array<Issue>> => {
  const object_ = idOf(object)
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string") {
    return [{ rule: "schema/type-meta", object: object_, message: "apiVersion and kind are required strings" }]
  }
  const validate = servedGroupVersions.has(object.apiVersion)
    ? await validatorFor(object.apiVersion, object.kind)
    : undefined
  if (!validate) {
    return [
      {
        rule: "schema/unknown-kind",
        object: object_,
        message: `no ${object.apiVersion} ${object.kind} in the Kubernetes ${schemaSource.kubernetes} schema`
      }
    ]
  }
  const { proxy, unknownFields } = traced(object)
  const issues: Array<Issue> = []
  if (!validate(proxy)) {
    // A oneOf/anyOf failure repeats the branch errors it is made of; keep the specific ones.
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf")
    const unique = new Set(errors.map(describe))
    for (const message of unique) issues.push({ rule: "schema/invalid", object: object_, message })
  }
  for (const path of unknownFields()) {
    issues.push({ rule: "schema/unknown-field", object: object_, message: `${path}: unknown field` })
  }
  return issues
}

export const validateAll = async (objects: ReadonlyArray<K8sObject>): Promise<Array<Issue>> =>
  (await Promise.all(objects.map(validateObject))).flat()
