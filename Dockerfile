# syntax=docker/dockerfile:1
# Slime: hub, agent and demo in one image. The entrypoint is the CLI, so the Go Slime Proxy's
# `docker run IMAGE hub run` / `agent run` / `hub register` lines work unchanged.
#
#   docker build -t slime .
#   docker run --rm -p 8080:8080 -e SLIME_SECRET=s3cret -v slime-state:/var/lib/slime slime hub run
#   docker run --rm -p 8080:8080 slime demo
#   docker exec <hub container> slime hub revoke --agent gpu-1   # `slime` is on PATH
#
# Ports: 8080 serves applications and agents; 8081 is the admin API (/metrics, /healthz, /readyz,
# /status, the policy API), on only with --admin-token and bound to 127.0.0.1 unless
# --admin-host 0.0.0.0 (SLIME_ADMIN_HOST). State (policy.yaml, revoked.json) lives in the
# /var/lib/slime volume. docs/deploy.md has compose, systemd and Kubernetes examples.

ARG NODE_IMAGE=node:24-slim

# ---- build: all dependencies, compile TypeScript --------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is reused until a package.json or the lock changes.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/hub/package.json packages/hub/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
# --ignore-scripts: the root `prepare` (tsc -b) needs the sources, which are not copied yet;
# the build runs explicitly below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN npm run build

# ---- runtime: production dependencies and compiled output only ------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/hub/package.json packages/hub/
COPY packages/agent/package.json packages/agent/
COPY packages/cli/package.json packages/cli/
# Native add-ons used here (bufferutil) ship prebuilt binaries, so no install script is needed.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/hub/dist packages/hub/dist
COPY --from=build /app/packages/agent/dist packages/agent/dist
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY --from=build /app/packages/cli/bin packages/cli/bin
COPY deploy/docker/healthcheck.mjs /app/healthcheck.mjs
COPY LICENSE /app/LICENSE

# `slime` on PATH, for `docker exec <container> slime hub revoke ...`; the state directory,
# owned by the runtime user so a fresh named volume mounted there is writable too.
RUN ln -s /app/packages/cli/bin/slime.js /usr/local/bin/slime \
    && mkdir -p /var/lib/slime \
    && chown node:node /var/lib/slime

# In a container the hub must listen on every interface to be reachable through -p (the hub's
# default already; `demo` defaults to 127.0.0.1). SLIME_* names, so no generic HOST/PORT is set
# for other programs to trip over; flags and SLIME_* env vars given to the container win.
ENV SLIME_HOST=0.0.0.0 \
    SLIME_STATE_DIR=/var/lib/slime
VOLUME ["/var/lib/slime"]
# 8080: applications and agents. 8081: the admin API (only with --admin-token; see above).
EXPOSE 8080 8081

# The client port's health endpoint for hubs and the demo (503 while draining); agents are
# healthy while they run. See deploy/docker/healthcheck.mjs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "/app/healthcheck.mjs"]

# The image's own unprivileged user: a proxy has no business running as root.
USER node

# SIGTERM from `docker stop` reaches node directly (exec form), so the hub and agent drain.
ENTRYPOINT ["node", "/app/packages/cli/dist/bin.js"]
CMD ["--help"]
