# syntax=docker/dockerfile:1
# Slime: hub, agent and demo in one image. The entrypoint is the CLI, so the Go Slime Proxy's
# `docker run IMAGE hub run` / `agent run` / `hub register` lines work unchanged.
#
#   docker build -t slime .
#   docker run --rm -p 8080:8080 -e SECRET=s3cret slime hub run
#   docker run --rm -p 8080:8080 slime demo

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

# In a container the hub must listen on every interface to be reachable through -p;
# HOST/PORT are read by `hub run` and `demo` only and are overridden by flags.
ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

# The image's own unprivileged user: a proxy has no business running as root.
USER node

# SIGTERM from `docker stop` reaches node directly (exec form), so the hub and agent drain.
ENTRYPOINT ["node", "/app/packages/cli/dist/bin.js"]
CMD ["--help"]
