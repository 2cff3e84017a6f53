# mastodon-s3-sync: one image for every role (worker, dashboard, jobs, sync).
# The config is mounted from ./private (as the original tool's compose file did).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY private/config.sample.ini ./private/config.sample.ini
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# MASTODON_S3_SYNC_DOCKER=1: read private/config.docker.ini when it exists (the original
# tool's Docker config file), else private/config.ini; the first log line names the file.
ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true \
    MASTODON_S3_SYNC_DOCKER=1
WORKDIR /app
COPY --from=build /app /app
# Runs as the unprivileged node user; ./private is mounted read-only at /app/private.
USER node
ENTRYPOINT ["node", "--single-threaded", "--initial-old-space-size=64", "/app/bin/mastodon-s3-sync"]
CMD ["--help"]
