/**
 * What the bench needs running: a Temporal dev server, a throwaway Postgres (both as the integration tests
 * start them, unless TEMPORAL_ADDRESS / OUIJA_TEST_DATABASE_URL name existing ones) and a Redis from Debian's
 * redis-server on a free port, in memory only.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { log } from '../src/log';
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

export async function startServices(): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalPid: number | null = null;
    if (!temporalAddress) {
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
