import { Effect, Layer, Logger, References } from "effect"
import { logLevelConfig } from "./AppConfig.ts"

/** One JSON object a line on stdout, at the level LOG_LEVEL names. */
export const LoggingLayer = Layer.unwrap(
  Effect.map(logLevelConfig, (level) =>
    Layer.mergeAll(Logger.layer([Logger.consoleJson]), Layer.succeed(References.MinimumLogLevel, level))
  )
)
