/** ctlptl.yaml against a schema of ctlptl's API types, plus what this cluster needs from it. */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Ajv } from "ajv"
import type { ClusterModel } from "./ClusterModel.ts"
import type { Issue } from "./Objects.ts"

type Doc = Record<string, unknown> & { kind?: string; name?: string }
type Node = {
  role?: string
  image?: string
  labels?: Record<string, string>
  extraPortMappings?: Array<{ containerPort?: number; hostPort?: number; listenAddress?: string }>
}

const schema = JSON.parse(readFileSync(join(import.meta.dirname, "ctlptl.schema.json"), "utf8"))
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema)
const issue = (rule: string, message: string): Issue => ({ rule, object: "ctlptl.yaml", message })

export const runCtlptlChecks = (model: ClusterModel): Array<Issue> => {
  const docs = model.ctlptl as Array<Doc>
  const problems: Array<Issue> = []
  for (const [i, doc] of docs.entries()) {
    // Match the branch by kind, so the errors are about the document as written.
    const branch = doc?.kind === "Registry" ? "Registry" : "Cluster"
    const check = new Ajv({ allErrors: true, strict: true })
      .addSchema(schema, "ctlptl")
      .getSchema(`ctlptl#/definitions/${branch}`)
    if (check && !check(doc))
      for (const e of check.errors ?? [])
        problems.push(
          issue(
            "ctlptl/schema",
            `document ${i + 1} (${branch}) ${e.instancePath || "/"}: ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`
          )
        )
  }
  if (problems.length === 0 && !docs.every((d) => validate(d)))
    problems.push(issue("ctlptl/schema", "a document is neither a Cluster nor a Registry"))

  const cluster = docs.find((d) => d?.kind === "Cluster") as
    | (Doc & { product?: string; registry?: string; kindV1Alpha4Cluster?: { nodes?: Array<Node> } })
    | undefined
  if (!cluster) return [...problems, issue("ctlptl/cluster", "no Cluster document")]
  if (cluster.product !== "kind") problems.push(issue("ctlptl/cluster", "the cluster must be kind"))
  if (cluster.name !== "kind-voting")
    problems.push(
      issue("ctlptl/cluster", `the cluster must be named kind-voting (the kubectl context), not ${cluster.name}`)
    )
  if (!docs.some((d) => d?.kind === "Registry" && d.name === cluster.registry))
    problems.push(issue("ctlptl/cluster", `registry ${cluster.registry} is not a Registry in this file`))
  if ("kubernetesVersion" in cluster)
    problems.push(
      issue("ctlptl/no-kubernetes-version", "kubernetesVersion lags kind's releases; pin the node image instead")
    )
  const nodes = cluster.kindV1Alpha4Cluster?.nodes ?? []
  const ingressNode = nodes.find((n) => n.role === "control-plane" && n.labels?.["ingress-ready"] === "true")
  if (!ingressNode)
    problems.push(issue("ctlptl/ingress-node", 'a control-plane node must carry the label ingress-ready: "true"'))
  else
    for (const port of [80, 443]) {
      const mapping = (ingressNode.extraPortMappings ?? []).find((m) => m.containerPort === port && m.hostPort === port)
      if (!mapping)
        problems.push(issue("ctlptl/ingress-node", `the ingress node must map host port ${port} to its port ${port}`))
      // kind binds every interface by default, which puts the dev ingress on the LAN.
      else if (mapping.listenAddress !== "127.0.0.1")
        problems.push(
          issue(
            "ctlptl/ingress-node",
            `host port ${port} must listen on 127.0.0.1, not ${mapping.listenAddress ?? "every interface (kind's default)"}`
          )
        )
    }
  for (const n of nodes)
    if (n.image && !/@sha256:[0-9a-f]{64}$/.test(n.image))
      problems.push(issue("ctlptl/pinned-node-image", `node image ${n.image} must be pinned by digest`))
  return problems
}
