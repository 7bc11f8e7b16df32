/**
 * Runs `temporal server start-dev` as a child process: the embedded server of `ouija dev` and of the
 * integration tests. It gets its own process group so that stop() can take down everything it started,
 * and so that a Ctrl-C aimed at Ouija reaches Ouija first, which then stops the server in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { log as defaultLog, type Logger } from '../log';
import { collectLines, OutputTail, signalGroup, type Exit } from '../processes';
import { SEARCH_ATTRIBUTES } from './search-attributes';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file for the server's state; omitted → in memory, lost when the server stops. */
  dbFile?: string;
  /** Interface the frontend and UI bind to. */
  ip?: string;
  /** gRPC frontend port; omitted or 0 → a free one. */
  port?: number;
  /** Web UI port; omitted or 0 → a free one. Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /** Created at launch if missing ("default" always exists). */
  namespace?: string;
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  log?: Logger;
}

export interface DevServer {
  /** host:port of the gRPC frontend, as `Connection.connect({ address })` wants it. */
  address: string;
  uiUrl: string | null;
  namespace: string;
  pid: number;
  /** SIGTERM to the process group, SIGKILL after the grace; resolves once the server has exited. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the OS picks it; the tiny race before reuse is acceptable here). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function devServerArgs(o: {
  ip: string;
  port: number;
  uiPort: number | null;
  namespace: string;
  dbFile?: string;
}): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip, '--port', String(o.port), '--log-level', 'warn'];
  args.push(...(o.uiPort === null ? ['--headless'] : ['--ui-port', String(o.uiPort)]));
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

function signalGroupOf(child: ChildProcess, signal: NodeJS.Signals): void {
  signalGroup(child.pid!, signal); // the whole process group the server leads
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One readiness probe: the frontend answers and the namespace exists. Closes its own connection. */
async function probe(address: string, namespace: string): Promise<void> {
  // lazy + ensureConnected rather than connect(): a failed connect() leaves its channel open, which keeps
  // the process alive (and jest's globalSetup process from exiting).
  const connection = Connection.lazy({ address, connectTimeout: '2s' });
  try {
    await connection.ensureConnected();
    await connection.workflowService.describeNamespace({ namespace });
  } finally {
    await connection.close();
  }
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const log = opts.log ?? defaultLog;
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const port = opts.port || (await freePort(ip));
  const uiPort = opts.headless ? null : opts.uiPort || (await freePort(ip));
  if (opts.dbFile) mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  const args = devServerArgs({ ip, port, uiPort, namespace, dbFile: opts.dbFile });
  log.debug({ cli: opts.cliPath, args }, 'starting Temporal dev server');
  const child = spawn(opts.cliPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });

  const tail = new OutputTail();
  for (const [stream, name] of [
    [child.stdout!, 'stdout'],
    [child.stderr!, 'stderr'],
  ] as const) {
    collectLines(stream, (line) => {
      tail.push(line);
      log.debug({ stream: name }, line);
    });
  }

  let exitInfo: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exitInfo = { code, signal })));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.on('error', (err) => reject(new Error(`cannot run ${opts.cliPath}: ${err.message}`, { cause: err })));
  });

  // If Ouija itself exits without calling stop(), do not leave the server behind.
  const killOnExit = () => signalGroupOf(child, 'SIGKILL');
  process.on('exit', killOnExit);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exitInfo) {
        signalGroupOf(child, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, opts.stopGraceMs ?? 10_000, 'timeout')));
        const outcome = await Promise.race([exited, grace]);
        clearTimeout(timer); // a pending grace timer would keep the process alive for its whole length
        if (outcome === 'timeout') {
          log.warn({ pid: child.pid }, 'Temporal dev server ignored SIGTERM; killing it');
          signalGroupOf(child, 'SIGKILL');
          await exited;
        }
      }
      process.off('exit', killOnExit);
    })());

  const address = `${ip}:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    const attempt = probe(address, namespace).then(
      () => 'ready' as const,
      (err: unknown) => {
        lastError = err;
        return 'not yet' as const;
      },
    );
    const outcome = await Promise.race([attempt, exited]);
    if (outcome === 'ready') break;
    if (outcome !== 'not yet') {
      await Promise.all([stop(), attempt]); // let the probe close its connection: no handle outlives this
      throw new Error(`Temporal dev server exited early (code ${outcome.code}, signal ${outcome.signal}):\n${tail}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `Temporal dev server at ${address} did not answer within ${opts.startTimeoutMs ?? 60_000} ms ` +
          `(last error: ${(lastError as Error)?.message}):\n${tail}`,
      );
    }
    await sleep(200);
  }

  const uiUrl = uiPort === null ? null : `http://${ip}:${uiPort}`;
  log.info({ address, uiUrl, namespace, dbFile: opts.dbFile ?? null, pid: child.pid }, 'Temporal dev server ready');
  return { address, uiUrl, namespace, pid: child.pid!, stop };
}
