import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { InvalidConfig } from "@voting/domain"
import { ConfigProvider, Context, Effect, Layer, Option } from "effect"
import type { ConfigKey } from "./ConfigKeys.ts"

/** A configuration value and the place it was found, for messages that say where to look. */
export interface SourcedValue {
  readonly value: string
  readonly source: string
}

interface NamedProvider {
  readonly describe: (key: string) => string
  readonly provider: ConfigProvider.ConfigProvider
}

/**
 * Where configuration comes from, first to last: a file named after the key in
 * CONFIG_DIR (a mounted ConfigMap), then in SECRETS_DIR (a mounted Secret), then
 * the environment. Files are read on every lookup, so a changed file is seen at
 * once and a rotated secret is used for the next connection. An empty file is
 * a value (an empty one, which the key's codec refuses), not a missing key:
 * a ConfigMap entry left blank must stop the component, not fall back silently.
 */
export class ConfigSources extends Context.Service<
  ConfigSources,
  {
    readonly lookup: (key: ConfigKey) => Effect.Effect<Option.Option<SourcedValue>, InvalidConfig>
    /** Where a key would be looked for, for "missing" messages. */
    readonly describe: (key: ConfigKey) => string
  }
>()("@voting/platform/ConfigSources") {
  static readonly make = Effect.fnUntraced(function* (options: {
    readonly configDir?: string | undefined
    readonly secretsDir?: string | undefined
    readonly env?: Record<string, string | undefined> | undefined
  }) {
    const providers: Array<NamedProvider> = []
    if (options.configDir) {
      const dir = options.configDir
      providers.push({
        describe: (key) => `file ${dir}/${key}`,
        provider: yield* ConfigProvider.fromDir({ rootPath: dir, preserveEmptyStrings: true })
      })
    }
    if (options.secretsDir) {
      const dir = options.secretsDir
      providers.push({
        describe: (key) => `file ${dir}/${key}`,
        provider: yield* ConfigProvider.fromDir({ rootPath: dir, preserveEmptyStrings: true })
      })
    }
    const env = options.env ?? process.env
    providers.push({
      describe: (key) => `environment variable ${key}`,
      provider: ConfigProvider.fromEnv({ env: env as Record<string, string> })
    })

    const lookup = (key: ConfigKey) =>
      Effect.gen(function* () {
        for (const { describe, provider } of providers) {
          const node = yield* provider
            .load([key])
            .pipe(
              Effect.mapError(
                (error) =>
                  new InvalidConfig({ key, source: describe(key), problem: `cannot be read: ${error.message}` })
              )
            )
          if (node !== undefined && node.value !== undefined) {
            return Option.some({ value: node.value, source: describe(key) })
          }
        }
        return Option.none<SourcedValue>()
      })

    const describe = (key: ConfigKey) => providers.map((p) => p.describe(key)).join(", ")
    return ConfigSources.of({ lookup, describe })
  })

  /** Reads CONFIG_DIR and SECRETS_DIR from the environment, as the containers set them. */
  static readonly layer = Layer.effect(
    ConfigSources,
    ConfigSources.make({ configDir: process.env.CONFIG_DIR, secretsDir: process.env.SECRETS_DIR })
  ).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))

  /** Fixed values, for tests and the single-process mode. */
  static readonly layerFrom = (options: {
    readonly configDir?: string | undefined
    readonly secretsDir?: string | undefined
    readonly env?: Record<string, string | undefined> | undefined
  }) =>
    Layer.effect(ConfigSources, ConfigSources.make(options)).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))
}
