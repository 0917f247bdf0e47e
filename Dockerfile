# syntax=docker/dockerfile:1
# One image for every mogftp subcommand (ftp, storage, jobs, dav, admin, quickstart):
#   docker build -t mogftp .
#   docker run --rm mogftp ftp --help
# mogftp runs its TypeScript through tsx (a production dependency): there is no compile step.

# --- build: the production dependencies, compiled where they need it -------------------------
FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 is a native addon: it downloads a prebuilt binary or compiles with these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked; the final stage takes this node_modules as is.
RUN npm ci --omit=dev --no-audit --no-fund

# --- final: node, the dependencies and the sources; no compiler ---------------------------------
FROM node:20-slim
# Every daemon serves /metrics, /healthz and /readyz on MOGFTP_ADMIN_LISTEN (the HEALTHCHECK
# below uses it). Override with --admin-listen or the variable; `mogftp admin` ignores it.
ENV NODE_ENV=production \
    MOGFTP_ADMIN_LISTEN=0.0.0.0:9100
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
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
