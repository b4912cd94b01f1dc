# syntax=docker/dockerfile:1
# One Dockerfile for vote, result and worker, chosen with --build-arg SERVICE=…:
# they share one npm workspace, one lockfile and the same packages/, and differ
# only in which entry point runs. Targets:
#   dev         the TypeScript sources, restarted on every change by scripts/dev-watch.ts
#               (what Tilt's live update syncs into); runtime dependencies only
#   production  the service's bundle (npm run bundle) on distroless Node, non-root,
#               no node_modules (the default target)
# Base images are pinned by tag; in a real registry pin their digests too. Both
# are Debian 13 (trixie).

FROM node:26.10.0-trixie-slim AS base
WORKDIR /app
# tini as PID 1: forwards SIGTERM to Node and reaps children (dev-watch has one).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# Only the package manifests, so the dependency layers below are rebuilt when a
# manifest changes, not when a source file does.
FROM base AS manifests
COPY packages packages
COPY services services
RUN find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM base AS deps
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages packages
COPY --from=manifests /app/services services
# --ignore-scripts: the image has its own pinned Node; nothing here needs an install step.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund

# What the dev target runs with: the one service's runtime dependencies, none of
# the workspace's tools (biome, TypeScript, esbuild, PGlite, ...): about a tenth
# of the full install.
FROM base AS runtime-deps
ARG SERVICE
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages packages
COPY --from=manifests /app/services services
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund --omit=dev --workspace "services/${SERVICE}"

# Stable entry points, so the manifests name the same file in both targets:
# entry/main.mjs (the service), entry/check-config.mjs and entry/migrate.mjs
# (the init containers). In dev each is one import of the real module; in
# production they are the bundle's own files (scripts/bundle.ts).
FROM base AS entry-dev
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=vote|result|worker" >&2; exit 1) \
 && mkdir entry \
 && echo "import \"../services/${SERVICE}/src/main.ts\"" > entry/main.mjs \
 && echo 'import "../packages/platform/src/bin/checkConfig.ts"' > entry/check-config.mjs \
 && echo 'import "../packages/store/src/bin/migrate.ts"' > entry/migrate.mjs

# ---- dev: a shell and tar for `kubectl exec`/live update; sources, not builds.
FROM base AS dev
ENV NODE_ENV=development
# Workspace packages resolve to their .ts sources (the "source" export condition).
ENV NODE_OPTIONS=--conditions=source
COPY --from=runtime-deps --chown=65532:65532 /app/node_modules node_modules
COPY --chown=65532:65532 . .
COPY --from=entry-dev --chown=65532:65532 /app/entry entry
# The same uid as the distroless nonroot user, so the manifests' runAsUser fits both targets.
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
# Restarts the service on every file Tilt syncs (not `node --watch`: it misses
# the second sync of a file; see the script).
CMD ["scripts/dev-watch.ts", "--watch", "packages", "--watch", "services", "--", "entry/main.mjs"]

# ---- bundle: the service's entry points, each one file with only the code it
# reaches, plus its static assets: entry/*.mjs and assets/ (scripts/bundle.ts).
FROM deps AS bundle
ARG SERVICE
COPY . .
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=vote|result|worker" >&2; exit 1) \
 && node scripts/bundle.ts "$SERVICE" --out=/out \
 && mv "/out/$SERVICE" /bundle

# ---- production: the bundle alone; no node_modules, no shell, no package manager.
FROM gcr.io/distroless/nodejs26-debian13:nonroot AS production
WORKDIR /app
ENV NODE_ENV=production
COPY --from=base /usr/bin/tini-static /usr/bin/tini
COPY --from=bundle /bundle/ ./
USER 65532:65532
ENTRYPOINT ["/usr/bin/tini", "--", "/nodejs/bin/node"]
CMD ["entry/main.mjs"]
