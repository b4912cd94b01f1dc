import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"

const sharedAssets = new URL("../assets/", import.meta.url)

/** Reads an asset once at start; the pages are small and never change while running. */
export const readAsset = (base: URL, name: string): string => readFileSync(new URL(name, base), "utf8")

const contentTypes: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  svg: "image/svg+xml"
}

/**
 * Serves `/assets/app.css` (shared) and the service's own files under
 * `/assets/`. Each is read once and served from memory with a short cache,
 * since the names carry no content hash.
 */
export const assetRoutes = (own: { readonly base: URL; readonly names: ReadonlyArray<string> }) =>
  HttpRouter.use(
    Effect.fn(function* (router) {
      const files: Array<readonly [string, string]> = [
        ["app.css", readAsset(sharedAssets, "app.css")],
        ...own.names.map((name) => [name, readAsset(own.base, name)] as const)
      ]
      for (const [name, body] of files) {
        const extension = name.slice(name.lastIndexOf(".") + 1)
        const response = HttpServerResponse.text(body, {
          contentType: contentTypes[extension] ?? "application/octet-stream",
          headers: { "cache-control": "public, max-age=300", "x-content-type-options": "nosniff" }
        })
        yield* router.add("GET", `/assets/${name}`, Effect.succeed(response))
      }
    })
  )
