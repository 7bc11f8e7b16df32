/**
 * What the bench needs running: a Temporal server, a throwaway Postgres (both as the integration tests start them,
 * unless TEMPORAL_ADDRESS / OUIJA_TEST_DATABASE_URL name existing ones) and a Redis from Debian's redis-server on a
 * free port, in memory only. The Temporal server is the dev server (`--temporal=dev`, the default) or the real
 * server on Postgres (`--temporal=cluster`: src/temporal/cluster.ts, as `npm run cluster` runs it, durable; its
 * Postgres then holds Ouija's databases too).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../src/log';
import { startCluster } from '../src/temporal/cluster';
import { ensureTemporalCli } from '../src/temporal/cli';
import { freePort, startDevServer } from '../src/temporal/dev-server';
import { startTestPostgres } from '../test/support/postgres-server';

export interface Services {
  temporalAddress: string;
  temporalPid: number | null;
  redisPort: number;
  redisPid: number;
  stop(): Promise<void>;
}

export type TemporalKind = 'dev' | 'cluster';

export async function startServices(temporal: TemporalKind = 'dev'): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalPid: number | null = null;
    if (!temporalAddress && temporal === 'cluster') {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-bench-cluster-'));
      fs.chmodSync(dir, 0o755); // as root, Postgres runs as the postgres user, which must enter it
      stops.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
      const cluster = await startCluster({ dir: path.join(dir, 'cluster'), namespace: 'default', port: 0, postgresPort: 0, ui: false, log: log.child({}, { level: 'warn' }) });
      stops.push(() => cluster.stop());
      temporalAddress = cluster.address;
      temporalPid = cluster.serverPid();
      // Ouija's databases on the cluster's Postgres, beside Temporal's: one Postgres, as `npm run cluster` has it.
      process.env.OUIJA_TEST_DATABASE_URL ??= cluster.postgresUrl;
    } else if (!temporalAddress) {
      const server = await startDevServer({ cliPath: await ensureTemporalCli({ log }), headless: true, log: log.child({}, { level: 'warn' }) });
      stops.push(server.stop);
      temporalAddress = server.address;
      temporalPid = server.pid;
    }
    if (!process.env.OUIJA_TEST_DATABASE_URL) {
      const pg = await startTestPostgres();
      stops.push(pg.stop);
      // test/support/database.ts creates each Ouija instance's fresh database on this server.
      process.env.OUIJA_TEST_DATABASE_URL = pg.url;
    }
    const redis = await startRedis();
    stops.push(redis.stop);
    return { temporalAddress, temporalPid, redisPort: redis.port, redisPid: redis.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startRedis(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`cannot start redis-server (apt-get install -y redis-server): ${err.message}`)));
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
    child.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Resident set size of a process in MiB (Linux /proc), or null. */
export function rssMiB(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc), or null. */
export function cpuSeconds(pid: number | null, withReapedChildren = false): number | null {
  if (pid === null) return null;
  try {
    // Fields after the `(comm)`: state is the 3rd field overall, utime the 14th and stime the 15th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // cutime/cstime (16th, 17th): children that exited (Postgres backends) add their CPU to their parent's.
    const children = withReapedChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (Number(fields[11]) + Number(fields[12]) + children) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** The Postgres postmaster listening on `port` (the bench's throwaway server) and its backends, by /proc. */
export function postgresPids(port: number): number[] {
  const all = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  const read = (pid: number, file: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const postmaster = all.find((pid) => {
    const argv = read(pid, 'cmdline').split('\0');
    return path.basename(argv[0] ?? '') === 'postgres' && argv.includes('-p') && argv[argv.indexOf('-p') + 1] === String(port);
  });
  if (postmaster === undefined) return [];
  const parentOf = (pid: number) => Number(/PPid:\s+(\d+)/.exec(read(pid, 'status'))?.[1]);
  return [postmaster, ...all.filter((pid) => parentOf(pid) === postmaster)];
}
