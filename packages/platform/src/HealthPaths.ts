/** The paths every component serves for its probes and scrapes. */
export const healthPaths = {
  live: "/livez",
  ready: "/readyz",
  metrics: "/metrics"
} as const

// Until test/cluster/support/CrossChecks.ts imports it from ConfigKeys.ts, where it lives.
export { defaultPorts } from "./ConfigKeys.ts"
