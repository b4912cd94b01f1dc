import { defineConfig } from "vitest/config"
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: { root: "/work/main", include: ["test/cluster/**/*.test.ts"], testTimeout: 30_000 }
})
