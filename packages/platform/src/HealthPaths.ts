/** The paths every component serves for its probes and scrapes. */
export const healthPaths = {
  live: "/livez",
  ready: "/readyz",
  metrics: "/metrics"
} as const

/** Default port of each component. */
export const defaultPorts = { vote: 8080, result: 8081, worker: 8082 } as const
