# syntax=docker/dockerfile:1
# Ouija's image: `ouija api`, `ouija worker -q …`, `ouija setup` and `ouija migrate` (docker-compose.temporal.yml,
# docs/PRODUCTION.md). The arguments are an `ouija` command: `docker run --rm ouija migrate`.
#
# Stages: `build` compiles the TypeScript with every dependency; `production-deps` installs only the production
# dependencies; the runtime stage gets those, dist/, git, bubblewrap, setpriv and the agent CLIs, and runs as an
# unprivileged user. Nothing secret is built in: secrets come from the environment at run time.

# Node 24 LTS on Debian 12 (glibc: the Temporal SDK's native bridge and @swc/core ship glibc binaries).
ARG NODE_IMAGE=node:24.22.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (npm run build) would run before the sources are here; no package the build needs
# has an install step that matters (esbuild's and the agent CLIs' are for running them).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
RUN npm run build

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /build
COPY package.json package-lock.json ./
# The lockfile's production tree only. Its install scripts are skipped: protobufjs's only prints a notice and
# @swc/core's checks for the platform binding that npm installs anyway (@swc/core-linux-*-gnu).
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
# git: worktrees and pushes; bubblewrap: the agent sandbox (docs/AGENTS.md; under Docker: docs/PRODUCTION.md);
# util-linux: setpriv --pdeathsig, so an agent dies with its worker; tini: PID 1 that reaps the orphans of killed
# agent process groups and hands SIGTERM on to node.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git bubblewrap util-linux tini \
  && rm -rf /var/lib/apt/lists/*

# The agent CLIs Ouija has adapters for, at the versions package.json pins as devDependencies (where the test
# suite runs them; test/integration/deploy/dockerfile.test.ts keeps the two equal). Installed globally: claude,
# codex and gemini on PATH, without the rest of the dev dependencies. Claude Code's postinstall puts its native
# binary in place, so its scripts are allowed by name (npm 11 asks for that); the Gemini CLI's optional native
# modules (node-pty, keytar) are not built here: it has the prebuilt @lydell/node-pty. Aider (PyPI) is not included.
RUN npm install -g --no-audit --no-fund --allow-scripts=@anthropic-ai/claude-code \
    @anthropic-ai/claude-code@2.1.328 \
    @openai/codex@0.171.0 \
    @google/gemini-cli@0.61.0 \
  && npm cache clean --force

RUN groupadd --system --gid 10001 ouija \
  && useradd --system --uid 10001 --gid ouija --home-dir /home/ouija --create-home --shell /usr/sbin/nologin ouija \
  && mkdir -p /var/lib/ouija /etc/ouija \
  && chown ouija:ouija /var/lib/ouija

WORKDIR /opt/ouija
COPY --from=production-deps /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json ./
COPY bin ./bin
# Plain JavaScript that tsc does not copy to dist/; found from dist/ by walking up to src/.
COPY src/plugins/agent/demo/demo-agent.js ./src/plugins/agent/demo/demo-agent.js
COPY deploy/docker ./deploy/docker

# Data (worktrees, mirrors, agent runs) in a volume at /var/lib/ouija; ouija.config.json is read from the working
# directory, /etc/ouija (mount yours there).
ENV NODE_ENV=production OUIJA_DATA_DIR=/var/lib/ouija
WORKDIR /etc/ouija
USER ouija:ouija
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/opt/ouija/deploy/docker/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/ouija/bin/ouija.js"]
CMD ["--help"]
