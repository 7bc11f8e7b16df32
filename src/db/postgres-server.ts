/**
 * A PostgreSQL server of Ouija's own, from the machine's server binaries (Debian: `apt-get install postgresql`):
 * `initdb` into a data directory the first time, then a postmaster on a loopback port, in a process group of its
 * own. `ouija cluster` keeps its data across restarts; the tests' throwaway servers (test/support/postgres-server.ts)
 * turn durability off. The `postgres` superuser connects over the Unix socket only (trust, in a directory only the
 * server's user can enter); everyone else over TCP with a password (scram-sha-256).
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { Logger } from '../log';
import { spawnGroup, type GroupProcess } from '../processes';

const execFileAsync = promisify(execFile);

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
      'Install them (Debian: apt-get install postgresql) or point Ouija at a running server.',
  );
}

export interface ServerUser {
  /** The command line that runs `bin` as the server's user. */
  wrap(bin: string, args: string[]): [string, string[]];
  uid?: number;
  gid?: number;
}

/** Postgres refuses to run as root: then run its binaries as the `postgres` user. */
export async function postgresServerUser(): Promise<ServerUser> {
  if (process.getuid?.() !== 0) return { wrap: (bin, args) => [bin, args] };
  const id = async (flag: string) => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
  const [uid, gid] = await Promise.all([id('-u'), id('-g')]).catch(() => {
    throw new Error('Running as root but there is no `postgres` user to run PostgreSQL as (apt-get install postgresql).');
  });
  return { wrap: (bin, args) => ['runuser', ['-u', 'postgres', '--', bin, ...args]], uid, gid };
}

/** The nearest existing directory on the way to `dir` that the server's user may not enter, or null. */
function firstBlockedAncestor(dir: string, user: ServerUser): string | null {
  const chain: string[] = [];
  for (let d = dir; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of chain) {
    let st: Stats;
    try {
      st = statSync(d);
    } catch {
      return null; // from here on it does not exist yet: makeServerDir creates it for the user
    }
    const enter = st.uid === user.uid ? st.mode & 0o100 : st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!enter) return d;
  }
  return null;
}

/** Creates `dir` (and parents) and, when running as root, hands it to the server's user. */
export function makeServerDir(dir: string, user: ServerUser, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
}

export interface PostgresServerOptions {
  /** PGDATA. Initialised (initdb) when it holds no cluster yet. */
  dataDir: string;
  port: number;
  /** Where the Unix socket goes; its path must stay short (sockets are limited to about 100 bytes). */
  socketDir: string;
  /** false: fsync, synchronous_commit and full_page_writes off (throwaway data, faster). Default true. */
  durable?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  log?: Logger;
}

export interface PostgresServer {
  port: number;
  socketDir: string;
  dataDir: string;
  /** The postmaster's pid while it runs (from postmaster.pid), else null. */
  pid(): number | null;
  /** A connection as the `postgres` superuser over the socket; the caller ends it. */
  connectAdmin(database?: string): Promise<Client>;
  /** Stops the postmaster, keeping the data: `fast` (abort sessions, checkpoint) or `immediate` (crash-like). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same data directory and port, once stopped. */
  start(): Promise<void>;
}

/** initdb (if needed) and start; resolves once the server accepts connections. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const bindir = await findPostgresBinDir();
  const user = await postgresServerUser();
  const run = (name: string, args: string[]) => user.wrap(path.join(bindir, name), args);
  const { dataDir, port, socketDir } = options;
  if (path.join(socketDir, `.s.PGSQL.${port}`).length > 100) {
    throw new Error(`socket directory ${socketDir} is too long for a Unix socket path; choose a shorter one`);
  }
  // The data directory's parent and the socket directory are handed to the server's user below; what is above them
  // it must be able to enter.
  const above = [path.dirname(path.dirname(path.resolve(dataDir))), path.dirname(path.resolve(socketDir))];
  const blocked = user.uid === undefined ? null : (above.map((d) => firstBlockedAncestor(d, user)).find((d) => d !== null) ?? null);
  if (blocked) {
    throw new Error(`PostgreSQL runs as the postgres user here (Ouija runs as root), which cannot enter ${blocked}: put the data directory elsewhere (OUIJA_DATA_DIR), or give others search permission on ${blocked} (chmod o+x)`);
  }
  makeServerDir(path.dirname(dataDir), user);
  makeServerDir(socketDir, user);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    try {
      await execFileAsync(
        ...run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--encoding=UTF8', '--locale=C']),
      );
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new Error(`initdb ${dataDir} failed: ${stderr || (err as Error).message}` + (user.uid !== undefined ? ' (it runs as the postgres user, which must be able to enter every parent directory)' : ''), { cause: err });
    }
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_permissions: '0700',
    ...(options.durable === false ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(port), '-k', socketDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];

  let proc: GroupProcess | null = null;
  const running = () => proc !== null && proc.exit() === null;
  const admin = (database = 'postgres') => new Client({ host: socketDir, port, user: 'postgres', database });

  const launch = async () => {
    const [cmd, argv] = run('postgres', args);
    const started = await spawnGroup(cmd, argv, { name: 'postgres', log: options.log });
    proc = started;
    await (await connectWhenReady(started, admin)).end();
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    const p = proc;
    if (!p || p.exit()) return;
    // Only the postmaster: runuser, which leads the group, would answer a signal with a SIGTERM and, 2 s later, a
    // SIGKILL of its own. SIGINT: fast shutdown; SIGQUIT: immediate (no checkpoint, recovery on the next start).
    if (!signalPostmaster(dataDir, mode === 'fast' ? 'SIGINT' : 'SIGQUIT')) return p.kill();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([p.exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, 30_000, 'timeout')))]);
    clearTimeout(timer);
    if (outcome === 'timeout') options.log?.warn({ dataDir }, 'postgres did not stop within 30 s; killing it');
    await p.stop({ graceMs: 1_000, signal: 'SIGKILL' });
  };
  const start = async () => {
    if (running()) throw new Error('postgres is already running');
    await launch();
  };

  // Ouija exiting without stop(): the group kill (spawnGroup's) takes runuser and the postmaster; SIGQUIT first
  // makes the postmaster take its backends down with it.
  const quitOnExit = () => {
    if (running()) signalPostmaster(dataDir, 'SIGQUIT');
  };
  process.on('exit', quitOnExit);
  try {
    await launch();
  } catch (err) {
    await stop('immediate').catch(() => undefined);
    throw err;
  }
  return {
    port,
    socketDir,
    dataDir,
    pid: () => (running() ? postmasterPid(dataDir) : null),
    connectAdmin: async (database) => {
      const client = admin(database);
      await client.connect();
      return client;
    },
    stop: async (mode) => {
      await stop(mode);
      process.off('exit', quitOnExit);
    },
    start: async () => {
      process.on('exit', quitOnExit);
      await start();
    },
  };
}

function postmasterPid(dataDir: string): number | null {
  try {
    return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}

/** Signals the postmaster named in its pid file (not runuser, which we spawned); false if there is none. */
function signalPostmaster(dataDir: string, signal: NodeJS.Signals): boolean {
  const pid = postmasterPid(dataDir);
  if (!pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // gone
  }
}

/** Polls the Unix socket until the server accepts connections; fails fast if the postmaster dies. */
async function connectWhenReady(proc: GroupProcess, client: () => Client, timeoutMs = 30_000): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit()) throw new Error(`postgres exited early (code ${proc.exit()!.code}):\n${proc.tail}`);
    const c = client();
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections: ${(err as Error).message}\n${proc.tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Creates the role (LOGIN, with this password) unless it exists; updates the password if it does. */
export async function ensureRole(admin: Client, role: string, password: string, attributes = ''): Promise<void> {
  const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  await admin.query(`${verb} ROLE ${admin.escapeIdentifier(role)} LOGIN ${attributes} PASSWORD ${admin.escapeLiteral(password)}`);
}

/** Creates the database (owned by `owner`) unless it exists. */
export async function ensureDatabase(admin: Client, name: string, owner?: string): Promise<void> {
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount) return;
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}${owner ? ` OWNER ${admin.escapeIdentifier(owner)}` : ''}`);
}
