/**
 * Every configuration key a component reads, as the contract names them.
 * The cluster checks use this list to prove the ConfigMap holds nothing the
 * services ignore.
 */
export const configKeys = [
  "PORT",
  // Optional: when set, /livez, /readyz and /metrics move from PORT to this port.
  "MANAGEMENT_PORT",
  // Optional: the most connections each listener holds at once.
  "MAX_CONNECTIONS",
  "REDIS_URL",
  "REDIS_HOST",
  "REDIS_PORT",
  "DATABASE_URL",
  "POSTGRES_HOST",
  "POSTGRES_PORT",
  "POSTGRES_DB",
  "POSTGRES_USER",
  "POSTGRES_PASSWORD",
  // One database role per job: the worker writes as the writer, the result service reads as the
  // reader; migrate (as POSTGRES_USER, the owner) creates both with these names and passwords.
  "POSTGRES_WRITER_USER",
  "POSTGRES_WRITER_PASSWORD",
  "POSTGRES_READER_USER",
  "POSTGRES_READER_PASSWORD",
  "POLL_TITLE",
  "POLL_OPTIONS",
  "LOG_LEVEL",
  // Where the ballot and the results page link to each other, as voters reach them.
  "RESULT_PUBLIC_URL",
  "VOTE_PUBLIC_URL",
  // Proxies whose X-Forwarded-For names the client, for per-client limits (ClientAddress.ts).
  "TRUSTED_PROXIES",
  // Per-client limits: votes a minute (vote), open result streams (result).
  "VOTE_RATE_LIMIT",
  "RESULT_STREAMS_PER_CLIENT",
  "RESULT_STREAMS_MAX",
  // Not in the contract's table: lets several apps or test runs share one Redis.
  "REDIS_KEY_PREFIX",
  // Tracing (TracingConfig.ts), named as the OpenTelemetry SDK names them: spans are exported
  // only when the endpoint is set.
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG"
] as const

export type ConfigKey = (typeof configKeys)[number]

/** Keys whose values are secrets: read from files only, never logged. */
export const secretKeys: ReadonlyArray<ConfigKey> = [
  "POSTGRES_PASSWORD",
  "POSTGRES_WRITER_PASSWORD",
  "POSTGRES_READER_PASSWORD"
]

/**
 * The port each component listens on when PORT is unset; `npm start` serves
 * the vote and result pages on the same two by default.
 */
export const defaultPorts = { vote: 8080, result: 8081, worker: 8082 } as const
