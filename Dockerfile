# syntax=docker/dockerfile:1
#
# The Forecourt API image. Build: docker build -t forecourt-api .
# It expects an external PostgreSQL (DATABASE_URL and MIGRATION_DATABASE_URL); see
# docker-compose.yml and docs/database.md.

# --- build: install everything, compile with swc, then drop the dev dependencies ------------
FROM node:20-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code and production dependencies, as a non-root user -----------------
FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/var/lib/forecourt
WORKDIR /app

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# DATA_DIR: where the embedded defaults keep their state (docker-compose.yml mounts a volume).
RUN mkdir -p /var/lib/forecourt && chown node:node /var/lib/forecourt

USER node
EXPOSE 3000
CMD ["node", "--enable-source-maps", "dist/apps/api/src/main.js"]
