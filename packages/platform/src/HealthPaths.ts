/** The paths every component serves for its probes and scrapes. */
export const healthPaths = {
  live: "/livez",
  ready: "/readyz",
  metrics: "/metrics"
} as const
