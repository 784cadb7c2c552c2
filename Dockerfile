# syntax=docker/dockerfile:1
# Agentstore image: the build stage runs the same npm scripts as CI (`npm ci`, whose `prepare` is
# `npm run build`); the runtime stage holds only the build, production dependencies and migrations.

FROM node:20-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
# The admin console's source, and the scripts that compile src/ and bundle the console into dist/.
COPY admin-ui ./admin-ui
COPY scripts/build.ts scripts/build-admin-ui.ts ./scripts/
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-trixie-slim
# pg_dump for backups on PostgreSQL (Debian trixie: client 17, which dumps servers 10 to 17).
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /data /backups \
  && chown node:node /data /backups
WORKDIR /app
# Owned by root and not writable by the service's user: the application files never change at run time.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/node_modules ./node_modules
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8080 \
  DATA_DIR=/data \
  BACKUP_DIR=/backups
# Nothing outside these volumes is written, so the root file system may be read-only.
VOLUME ["/data", "/backups"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/agentstore.js"]
CMD ["serve"]
