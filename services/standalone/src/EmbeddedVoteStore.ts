import { join } from "node:path"
import { runMigrations, VoteStore } from "@voting/store"
import { Layer } from "effect"
import { PgliteClient } from "./PgliteClient.ts"

/**
 * The store on PostgreSQL embedded in this process: VoteStore.layerPg's SQL and the
 * same migrations on PGlite, its files under `<dataDir>/pglite` (kept between
 * runs). PGlite's NOTIFY stays on its one session, so the change feed is the
 * in-process one: the worker and the result page share this process. The
 * SqlClient comes out too, for checks that read the tables.
 */
export const layerPglite = (dataDir: string) =>
  VoteStore.layerPgInProcess.pipe(
    Layer.provide(Layer.effectDiscard(runMigrations)),
    Layer.provideMerge(PgliteClient.layer({ dataDir: join(dataDir, "pglite") }))
  )
