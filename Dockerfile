# Motif bot image. Runs the bot with node directly (PID 1 handles SIGTERM: running jobs get
# SHUTDOWN_GRACE_SECONDS to finish), never through npm. Build: docker build -t motif .
# Untested on the development machine (no Docker there); test/deploy/dockerfile.test.ts checks
# the entry command and the ignore list instead.
FROM node:26-bookworm-slim

ENV NODE_ENV=production \
    DATA_DIR=/app/data
WORKDIR /app

# Dependencies first, so code changes do not reinstall them. --omit=dev: no vitest, no ws.
# The `node` dependency puts the pinned Node (package.json) at node_modules/.bin/node.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY models ./models
COPY soundfonts ./soundfonts

# Storage (SQLite), guild uploads and guild models live here: mount a volume.
RUN mkdir -p /app/data && chown -R node:node /app/data
VOLUME ["/app/data"]
USER node

# Allow `docker stop -t 30` (longer than the 20 s default grace period).
STOPSIGNAL SIGTERM
CMD ["/app/node_modules/.bin/node", "--import", "tsx", "src/bot/main.ts"]
