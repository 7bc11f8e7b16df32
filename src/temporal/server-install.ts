/**
 * Locates the real Temporal server (not the dev server), its SQL schema tool and the Web UI server, building them
 * on first use. The build lives in scripts/install-temporal-server.sh, the one implementation of "get it from the
 * Go module proxy", so CI, developers, the tests and `ouija cluster` share one cache outside the repository:
 * `${OUIJA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ouija}/temporal-server-<version>/`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isExecutable } from '../executables';
import { log as defaultLog, type Logger } from '../log';
import { collectLines, OutputTail } from '../processes';
import { packageRoot } from './cli';

export interface TemporalServerVersions {
  server: string;
  ui: string;
}

/** KEY=value lines of deploy/temporal/versions.env (comments and blank lines skipped). */
export function parseVersionsEnv(text: string): TemporalServerVersions {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=([0-9A-Za-z.+-]+)$/.exec(line);
    if (!m) throw new Error(`versions.env: cannot read line ${JSON.stringify(raw)} (KEY=version expected)`);
    values.set(m[1]!, m[2]!);
  }
  const get = (key: string) => {
    const v = values.get(key);
    if (!v) throw new Error(`versions.env: ${key} is missing`);
    return v;
  };
  return { server: get('TEMPORAL_SERVER_VERSION'), ui: get('TEMPORAL_UI_SERVER_VERSION') };
}

/** The pinned versions, from deploy/temporal/versions.env (the one place they are written). */
export function temporalServerVersions(root: string = packageRoot()): TemporalServerVersions {
  return parseVersionsEnv(fs.readFileSync(path.join(root, 'deploy', 'temporal', 'versions.env'), 'utf8'));
}

/** `${OUIJA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ouija}`, as the install script computes it. */
export function ouijaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OUIJA_CACHE_DIR) return path.resolve(env.OUIJA_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(path.resolve(xdg), 'ouija');
}

export interface TemporalServerInstall {
  dir: string;
  versions: TemporalServerVersions;
  server: string;
  sqlTool: string;
  uiServer: string;
  /** schema/postgresql/v12, holding temporal/versioned and visibility/versioned. */
  postgresSchemaDir: string;
}

export function temporalServerInstallAt(dir: string, versions: TemporalServerVersions): TemporalServerInstall {
  return {
    dir,
    versions,
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    uiServer: path.join(dir, 'bin', 'temporal-ui-server'),
    postgresSchemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

/** The same completeness check as the script's: the version stamp, the three binaries, both schema trees. */
export function findTemporalServer(env: NodeJS.ProcessEnv = process.env): TemporalServerInstall | null {
  const versions = temporalServerVersions();
  const install = temporalServerInstallAt(path.join(ouijaCacheDir(env), `temporal-server-${versions.server}`), versions);
  let stamp = '';
  try {
    stamp = fs.readFileSync(path.join(install.dir, 'VERSIONS'), 'utf8').trim();
  } catch {
    return null;
  }
  const complete =
    stamp === `server=${versions.server} ui=${versions.ui}` &&
    [install.server, install.sqlTool, install.uiServer].every(isExecutable) &&
    ['temporal', 'visibility'].every((db) => fs.existsSync(path.join(install.postgresSchemaDir, db, 'versioned')));
  return complete ? install : null;
}

const HOW_TO_GET_IT =
  'Install Go 1.21 or newer (on PATH, or /usr/local/go/bin) and allow access to the Go module proxy, then run ' +
  '`bash scripts/install-temporal-server.sh`.';

/**
 * Finds the cached build, or runs the install script (which builds it: minutes when cold). The script's progress
 * goes to `log` line by line, so a first run does not look hung.
 */
export async function ensureTemporalServer(opts: { log?: Logger; timeoutMs?: number } = {}): Promise<TemporalServerInstall> {
  const log = opts.log ?? defaultLog;
  const found = findTemporalServer();
  if (found) return found;
  const script = path.join(packageRoot(), 'scripts', 'install-temporal-server.sh');
  const versions = temporalServerVersions();
  log.info({ script, versions, cache: ouijaCacheDir() }, 'Temporal server not built yet; building it (once per machine, minutes when cold)');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const tail = new OutputTail(20);
  let last = '';
  collectLines(child.stdout!, (line) => (last = line.trim()));
  collectLines(child.stderr!, (line) => {
    tail.push(line);
    // Go's "downloading <module>" lines are hundreds; the script's own lines say what is going on.
    if (!line.startsWith('go: downloading ')) log.info({ script: 'install-temporal-server' }, line);
  });
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  }).finally(() => clearTimeout(timer));
  if (exit.code !== 0) {
    const why = exit.error ? exit.error.message : exit.code === null ? `stopped after ${timeoutMs} ms` : `exit code ${exit.code}`;
    throw new Error(`Could not build the Temporal server (${why}):\n${tail}\n${HOW_TO_GET_IT}`);
  }
  const installed = findTemporalServer();
  if (!installed || path.resolve(last) !== installed.dir) {
    throw new Error(`The Temporal server install printed '${last}', which is not a complete install. ${HOW_TO_GET_IT}`);
  }
  log.info({ dir: installed.dir }, 'Temporal server installed');
  return installed;
}
