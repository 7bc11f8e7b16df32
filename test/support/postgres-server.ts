/**
 * A throwaway PostgreSQL cluster for the integration tests: initdb into a temp dir, a postmaster on a free
 * loopback port with durability off (speed over safety: the data dies with the run), and a password-protected
 * superuser, so the suite connects over TCP exactly as it would to a real server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../src/temporal/dev-server';

const execFileAsync = promisify(execFile);

export interface TestPostgres {
  url: string;
  /** Stops the server for good and deletes its data. */
  stop(): Promise<void>;
  /** Stops the postmaster but keeps its data (for outage tests); `immediate` is a crash-like stop, else a fast shutdown. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same data directory and port, once stopped. */
  startServer(): Promise<void>;
}

const hasServer = (dir: string) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'postgres'));

/** Server binaries: the newest /usr/lib/postgresql/<v>/bin (Debian's layout), else `pg_config --bindir`. */
export async function findPostgresBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) if (hasServer(path.join(root, v, 'bin'))) return path.join(root, v, 'bin');
  try {
    const { stdout } = await execFileAsync('pg_config', ['--bindir']);
    if (hasServer(stdout.trim())) return stdout.trim();
  } catch {
    // no pg_config either
  }
  throw new Error(
    'No PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or `pg_config --bindir`. ' +
      'Install them (Debian: apt-get install postgresql) or set OUIJA_TEST_DATABASE_URL to a server.',
  );
}

/** Postgres refuses to run as root: then run its binaries as the `postgres` user. */
async function asServerUser(): Promise<{ wrap: (bin: string, args: string[]) => [string, string[]]; uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return { wrap: (bin, args) => [bin, args] };
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
  const [uid, gid] = await Promise.all([id('-u'), id('-g')]).catch(() => {
    throw new Error('Running as root but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql).');
  });
  return { wrap: (bin, args) => ['runuser', ['-u', 'postgres', '--', bin, ...args]], uid, gid };
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bindir = await findPostgresBinDir();
  const user = await asServerUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ouija-pg-'));
  const dataDir = path.join(dir, 'data');
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const run = (name: string, args: string[]) => user.wrap(path.join(bindir, name), args);

  let child: ChildProcess | null = null;
  let output = '';
  // If the test process exits without stop(), SIGQUIT (immediate shutdown) still takes the backends down.
  const killOnExit = () => signalPostmaster(dataDir, 'SIGQUIT');
  process.on('exit', killOnExit);
  const cleanup = async () => {
    process.off('exit', killOnExit);
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      // SIGINT to the postmaster is a "fast" shutdown: abort sessions, checkpoint, exit.
      if (!signalPostmaster(dataDir, 'SIGINT')) child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  let port = 0;
  /** Spawns the postmaster on `dataDir` and `port`; resolves once it accepts connections, with one. */
  const launch = async (): Promise<Client> => {
    output = '';
    const [cmd, args] = run('postgres', [
      '-D', dataDir, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    ]);
    child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    child.stderr!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    return connectWhenReady(child, { host: dir, port, user: 'postgres', database: 'postgres' }, () => output);
  };
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    // SIGINT: fast shutdown (abort sessions, checkpoint); SIGQUIT: immediate (no checkpoint, recovery on start).
    if (!signalPostmaster(dataDir, mode === 'fast' ? 'SIGINT' : 'SIGQUIT')) child.kill('SIGKILL');
    await exited;
  };
  const startServer = async () => {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('postgres is already running');
    await (await launch()).end();
  };

  try {
    await execFileAsync(
      ...run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8', '--locale=C']),
    );
    port = await freePort();
    const admin = await launch();
    const role = 'ouija_test';
    const password = randomBytes(16).toString('hex');
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD ${admin.escapeLiteral(password)}`);
    } finally {
      await admin.end();
    }
    return { url: `postgres://${role}:${password}@127.0.0.1:${port}/postgres`, stop: cleanup, stopServer, startServer };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Signals the postmaster named in its pid file (not runuser, which we spawned); false if there is none. */
function signalPostmaster(dataDir: string, signal: NodeJS.Signals): boolean {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!pid) return false;
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // no pid file yet, or the process is gone
  }
}

/** Polls the Unix socket until the server accepts connections; fails fast if the postmaster dies. */
async function connectWhenReady(
  child: ChildProcess,
  config: { host: string; port: number; user: string; database: string },
  output: () => string,
  timeoutMs = 30_000,
): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited early (code ${child.exitCode}):\n${output()}`);
    }
    const client = new Client(config);
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections: ${(err as Error).message}\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
