# syntax=docker/dockerfile:1.7
#
# One multi-stage build for the three services; pick one with --target:
#
#   docker build --target gateway         -t agent-forge/gateway:0.1.0 .
#   docker build --target realtime        -t agent-forge/realtime:0.1.0 .
#   docker build --target pipeline-worker -t agent-forge/pipeline-worker:0.1.0 .
#
# Each image holds one service as `pnpm deploy --prod` lays it out: its dist/ and only its
# production dependencies (no TypeScript, no jest, no other service). It runs as the unprivileged
# `node` user (uid 1000), needs no writable root filesystem (the worker's artifacts go to the
# /data/artifacts volume; nothing else is written), and runs under tini (PID 1 forwards SIGTERM to
# node and reaps; the services drain on SIGTERM within SHUTDOWN_TIMEOUT_MS).
#
# Base image: pinned by version. For reproducible builds pin the digest too, e.g.
#   docker buildx imagetools inspect node:20.20.2-bookworm-slim   # → sha256:…
#   docker build --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:… …
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
ENV CI=true PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install --global --no-fund --no-audit pnpm@12.4.2
WORKDIR /src
# Dependencies first (cached while the lockfile is unchanged): fetch needs only the lockfile.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --store-dir /pnpm/store
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline --store-dir /pnpm/store \
 && pnpm build \
 && pnpm deploy --filter @agent-forge/gateway --prod --store-dir /pnpm/store /out/gateway \
 && pnpm deploy --filter @agent-forge/realtime --prod --store-dir /pnpm/store /out/realtime \
 && pnpm deploy --filter @agent-forge/pipeline-worker --prod --store-dir /pnpm/store /out/pipeline-worker \
 && rm -f /out/*/pnpm-lock.yaml /out/*/pnpm-workspace.yaml \
 # pnpm fills valibot's (bull-board's) *optional* peer `typescript` from the workspace root; it is
 # never loaded at run time and would add ~30 MB of compiler to the gateway image.
 && rm -rf /out/*/node_modules/.pnpm/typescript@* /out/*/node_modules/.pnpm/@typescript+*

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini from Debian: a real init as PID 1 (signal forwarding, zombie reaping).
RUN apt-get update \
 && apt-get install --yes --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    REDIS_URL=redis://redis:6379 \
    LOG_LEVEL=info
WORKDIR /app
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
# Each target sets HEALTH_URL; the check needs no curl/wget: node's own fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# ---------------------------------------------------------------------------------------------
FROM runtime AS gateway
COPY --from=build --chown=0:0 /out/gateway /app
ENV GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8081 HEALTH_URL=http://127.0.0.1:8081/health/live
EXPOSE 8081

FROM runtime AS realtime
COPY --from=build --chown=0:0 /out/realtime /app
ENV REALTIME_HOST=0.0.0.0 REALTIME_PORT=8082 HEALTH_URL=http://127.0.0.1:8082/health
EXPOSE 8082

FROM runtime AS pipeline-worker
COPY --from=build --chown=0:0 /out/pipeline-worker /app
ENV WORKER_HEALTH_HOST=0.0.0.0 WORKER_HEALTH_PORT=8083 HEALTH_URL=http://127.0.0.1:8083/health \
    ARTIFACT_ROOT=/data/artifacts
USER 0
RUN mkdir -p /data/artifacts && chown 1000:1000 /data/artifacts
USER 1000:1000
VOLUME ["/data/artifacts"]
EXPOSE 8083
