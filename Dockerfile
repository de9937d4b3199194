# syntax=docker/dockerfile:1
# ShareSync: one image serving the API and the built web app on port 8080.
#   docker build -t sharesync .
#   docker run -p 8080:8080 -v sharesync-data:/data sharesync

ARG NODE_IMAGE=node:22-bookworm-slim
ARG PNPM_VERSION=10.34.9

# --- base: node + pnpm (npm installs it: corepack cannot verify pnpm's signature offline) --------
FROM ${NODE_IMAGE} AS base
ARG PNPM_VERSION
RUN npm install -g --no-fund --no-audit "pnpm@${PNPM_VERSION}"
WORKDIR /app
# Manifests first, so the dependency layers are cached until a manifest or the lockfile changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY protocol/package.json protocol/
COPY backend/package.json backend/
COPY frontend/package.json frontend/
COPY crypto/package.json crypto/

# --- build: every dependency, then the frontend (vite) and the backend bundle (esbuild) ---------
FROM base AS build
RUN pnpm install --frozen-lockfile
COPY . .
RUN pnpm build

# --- prod-deps: only the backend's runtime dependencies ----------------------------------------
FROM base AS prod-deps
RUN pnpm install --frozen-lockfile --prod --filter @sharesync/backend...

# --- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=prod-deps /app/backend/package.json ./backend/package.json
COPY --from=prod-deps /app/backend/node_modules ./backend/node_modules
# backend/dist/main.js serves ../../frontend/dist, so both keep their places in the tree.
COPY --from=build /app/backend/dist ./backend/dist
COPY --from=build /app/frontend/dist ./frontend/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "backend/dist/main.js"]
