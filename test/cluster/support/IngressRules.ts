/** The edge: TLS on the Ingress, and the controller that terminates it. */
import { find } from "./Objects.ts"
import { appNamespace, controllerNamespace, inApp, type RuleFamily } from "./RuleKit.ts"

export const ingressRules: RuleFamily = {
  "ingress/tls": (model) => {
    const hosts = ["vote.localhost", "result.localhost"]
    const ingresses = model.applied.filter((o) => o.kind === "Ingress" && inApp(o))
    return hosts.flatMap((host) => {
      const served = ingresses.some(
        (i) =>
          (i.spec?.rules ?? []).some((r: { host?: string }) => r.host === host) &&
          (i.spec?.tls ?? []).some(
            (t: { hosts?: Array<string>; secretName?: string }) => t.secretName && (t.hosts ?? []).includes(host)
          )
      )
      return served
        ? []
        : [
            {
              rule: "ingress/tls",
              object: `Ingress/${appNamespace}`,
              message: `${host} needs a rule and a TLS entry with a Secret`
            }
          ]
    })
  },

  "ingress/controller": (model) => {
    const traefik = find(model.applied, "Deployment", "traefik", controllerNamespace)
    const c = traefik?.spec?.template?.spec?.containers?.[0]
    const args: Array<string> = (c?.args ?? []).map(String)
    const hostPorts = new Set((c?.ports ?? []).map((p: { hostPort?: number }) => p.hostPort))
    const problems = [
      args.some((a) => /^--entryPoints\.web\.http\.redirections\.entryPoint\.scheme=https$/.test(a)) &&
      args.some((a) => /^--entryPoints\.web\.http\.redirections\.entryPoint\.to=/.test(a))
        ? undefined
        : "HTTP is not redirected to HTTPS",
      hostPorts.has(80) && hostPorts.has(443) ? undefined : "does not bind hostPorts 80 and 443",
      traefik?.spec?.template?.spec?.nodeSelector?.["ingress-ready"] === "true"
        ? undefined
        : "not pinned to the ingress-ready node"
    ].filter((p) => p !== undefined)
    return problems.map((message) => ({
      rule: "ingress/controller",
      object: `Deployment/${controllerNamespace}/traefik`,
      message
    }))
  }
}
