import { defineConfig } from "vitest/config"

// Workspace packages export their TypeScript sources under the "source" condition.
const resolve = { conditions: ["source"] }

export default defineConfig({
  resolve,
  ssr: { resolve },
  test: {
    globalSetup: ["test/support/globalSetup.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "packages/*/test/**/*.test.ts",
            "services/*/test/**/*.test.ts",
            "test/cluster/**/*.test.ts",
            "test/docs/**/*.test.ts"
          ],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 }
        }
      },
      {
        // Whole processes, real servers and a browser: one file at a time, after the fast tests,
        // so two system suites never fight over this machine's two cores.
        extends: true,
        test: {
          name: "system",
          include: [
            "test/e2e/**/*.test.ts",
            "test/faults/**/*.test.ts",
            "test/security/**/*.test.ts",
            "test/browser/**/*.test.ts",
            "test/images/**/*.test.ts",
            "test/observability/**/*.test.ts"
          ],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
