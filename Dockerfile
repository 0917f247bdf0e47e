# syntax=docker/dockerfile:1
# One image for every mogftp subcommand (ftp, storage, jobs, dav, admin, quickstart):
#   docker build -t mogftp .
#   docker run --rm mogftp ftp --help
# The image runs compiled JavaScript (dist/, built here from src/ by scripts/build.js): no
# TypeScript, no tsx and no sources in it, so a daemon does not carry a compiler's loader.

# Node.js 26 is the Active LTS line (since 2026-10-28, supported to 2029-04-30); 20 reached its
# end of life on 2026-04-30 and 24 is in maintenance. Both stages use the same line: the native
# addon (better-sqlite3) is built for the node that runs it. A checkout runs on 20.19+ (yargs 18 needs it).

# --- build: all dependencies, the compiled dist/, then the production dependencies only ----------
FROM node:26-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon: it downloads a prebuilt binary or compiles with these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# ftp-srv's `ip` is our stand-in in vendor/ip (package.json's overrides): node_modules/ip links to it.
COPY vendor ./vendor
# Every dependency (the compiler too), exactly as locked. --ignore-scripts skips our own `prepare`
# (the build, which needs the sources copied below; this layer stays cached while only they
# change), so better-sqlite3's install script is run by name.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# Type-check and compile src/ to dist/src/, then remove the dev dependencies (typescript, tsx):
# the final stage takes this node_modules as is.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- final: node, the production dependencies and dist/; no compiler, no sources ----------------
FROM node:26-slim
# Every daemon serves /metrics, /healthz and /readyz on MOGFTP_ADMIN_LISTEN (the HEALTHCHECK
# below uses it). Override with --admin-listen or the variable; `mogftp admin` ignores it.
ENV NODE_ENV=production \
    MOGFTP_ADMIN_LISTEN=0.0.0.0:9100
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json also makes dist/'s .js files ES modules ("type": "module").
COPY package.json package-lock.json ./
COPY vendor ./vendor
# bin/mogftp.js runs dist/ (with no src/ beside it, dist/ is always current).
COPY bin ./bin
COPY config ./config
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# A storage node keeps its devices under /var/lib/mogftp (dev1/, dev2/, ...): mount a volume
# there. Created here so a fresh named volume is owned by the unprivileged user.
RUN mkdir -p /var/lib/mogftp && chown node:node /var/lib/mogftp
# The node user (uid 1000) comes with the base image: no daemon needs root. Ports are
# unprivileged: FTP 2121, passive 30000-30099, storage 7500, admin 9100.
USER node
EXPOSE 2121 7500 9100
VOLUME ["/var/lib/mogftp"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "/app/bin/mogftp.js"]
CMD ["--help"]
