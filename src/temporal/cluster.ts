/**
 * A real Temporal cluster on this machine, without Docker: PostgreSQL (the machine's server binaries, unless a
 * server is given), the Temporal server on it for persistence and SQL visibility (`postgres12`), the Web UI
 * server, the namespace with Ouija's search attributes, and a database for Ouija itself beside Temporal's. What
 * `ouija cluster` (`npm run cluster`) runs, and what the `cluster` jest project, the reliability scenario and
 * `npm run bench -- --temporal=cluster` start. Its state lives in one directory (`<data dir>/cluster`), so a
 * restart keeps every workflow; docs/CLUSTER.md describes the layout.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Client } from 'pg';
import { ensureDatabase, ensureRole, startPostgresServer, type PostgresServer } from '../db/postgres-server';
import { log as defaultLog, type Logger } from '../log';
import { packageRoot } from './cli';
import { ensureNamespace, waitForNamespaceReady } from './namespace';
import { ensureTemporalServer, type TemporalServerInstall } from './server-install';
import { layerDynamicConfig, probeTemporal, SERVER_PORT_NAMES, setupTemporalSchema, startTemporalServer, temporalServerConfig, type SqlStore, type TemporalServerPorts, type TemporalServerProcess } from './server';
import { startUiServer, type UiServerProcess } from './ui-server';

/** The one dynamic config file of Ouija's real clusters (docker-compose.temporal.yml mounts it too). */
export function dynamicConfigFile(root: string = packageRoot()): string {
  return path.join(root, 'deploy', 'temporal', 'dynamicconfig.yaml');
}

export interface ClusterOptions {
  /** Where the cluster keeps its state (`<OUIJA_DATA_DIR>/cluster` for `ouija cluster`). */
  dir: string;
  /** Registered with Ouija's search attributes. */
  namespace: string;
  /** Frontend gRPC port; omitted: 7233 when free, else a free one; 0: a free one. */
  port?: number;
  /** Web UI port; omitted: 8233 when free, else a free one; 0: a free one. */
  uiPort?: number;
  /** false: no Web UI server. */
  ui?: boolean;
  /**
   * An existing PostgreSQL server to use instead of starting one: a URL whose user may create databases. Temporal's
   * two databases and Ouija's are created there under that user.
   */
  postgresUrl?: string;
  /** Our own Postgres's port; omitted: the one it had last time when free, else 5432 when free, else a free one. */
  postgresPort?: number;
  /** Database names (defaults temporal, temporal_visibility, ouija): a shared server can hold several clusters. */
  databases?: { temporal?: string; visibility?: string; ouija?: string };
  /**
   * Dynamic config keys layered over deploy/temporal/dynamicconfig.yaml into a file of the cluster's own. For
   * tests; a cluster without them reads the shared file itself.
   */
  extraDynamicConfig?: Record<string, unknown>;
  /** false: our Postgres runs with fsync off (throwaway clusters). Default true. */
  durablePostgres?: boolean;
  install?: TemporalServerInstall;
  log?: Logger;
}

export interface Cluster {
  /** host:port of the frontend: TEMPORAL_ADDRESS. */
  address: string;
  uiUrl: string | null;
  namespace: string;
  /** Ouija's own database on the cluster's Postgres: DATABASE_URL. */
  databaseUrl: string;
  /** The same server's maintenance database, as a user that may create databases (tests make theirs with it). */
  postgresUrl: string;
  install: TemporalServerInstall;
  dir: string;
  /** The Temporal server's pid (changes with restartServer()). */
  serverPid(): number;
  /** Our Postgres's postmaster pid, or null for a given server. */
  postgresPid(): number | null;
  uiPid(): number | null;
  /** Stops the UI, the server and our Postgres, in that order; bounded; idempotent. State stays. */
  stop(): Promise<void>;
  /** SIGKILLs the Temporal server process only (a crash). */
  killServer(): Promise<void>;
  /** Starts the Temporal server again (after killServer(), or kills it first), on the same ports and database. */
  restartServer(): Promise<void>;
}

interface ClusterState {
  postgres?: { port: number; passwords: { temporal: string; ouija: string } };
  /**
   * The server's internal ports of the last start, reused when free: the server finds its peers of earlier runs
   * in the cluster_membership table, and one at the same host:port is itself, where one at another port is a
   * ghost the ring waits for (seen: on new internal ports, no new task queue served 26 s after the start; on the
   * same ones, the namespace probe passed 2 s after it).
   */
  serverPorts?: Partial<TemporalServerPorts>;
}

const HOST = '127.0.0.1';

export function portIsFree(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * A free port the server can use: its cluster_membership table keeps ports in a SMALLINT, so they must be below
 * 32768, under the kernel's ephemeral range (where a port from the OS would land). Random, so that clusters
 * starting side by side rarely try the same one.
 */
export async function freeServerPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 10_000 + Math.floor(Math.random() * (32_767 - 10_000));
    if (!taken.has(port) && (await portIsFree(port))) return port;
  }
  throw new Error('no free port between 10000 and 32767');
}

/** `wanted` when given (0: any free port); else the first free of `preferred`; else any free port (below 32768). */
async function choosePort(wanted: number | undefined, preferred: Array<number | undefined>, taken: Set<number>): Promise<number> {
  let port: number | undefined;
  if (wanted !== undefined && wanted !== 0) {
    if (!(await portIsFree(wanted))) throw new Error(`port ${wanted} is in use`);
    port = wanted;
  } else if (wanted === undefined) {
    for (const p of preferred) if (p && !taken.has(p) && (await portIsFree(p))) { port = p; break; }
  }
  if (port === undefined || taken.has(port)) port = await freeServerPort(taken);
  taken.add(port);
  return port;
}

function readState(file: string): ClusterState {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

const secret = () => randomBytes(18).toString('base64url');

function urlFor(store: SqlStore): string {
  return `postgres://${encodeURIComponent(store.user)}:${encodeURIComponent(store.password)}@${store.host}:${store.port}/${encodeURIComponent(store.database)}`;
}

/** Runs `fn`; if it takes longer than `ms`, stops waiting (the process-group exit hooks are the backstop). */
async function bounded(what: string, ms: number, fn: () => Promise<void>, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, ms, 'late')));
  const outcome = await Promise.race([fn().then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
  if (outcome === 'late') log.warn({ what, ms }, `${what} did not finish within ${ms} ms`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? defaultLog;
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  // As root, Postgres runs as the postgres user, which must be able to enter this directory (not list it; the
  // secrets in it are 0600).
  if (process.getuid?.() === 0) fs.chmodSync(dir, (fs.statSync(dir).mode & 0o777) | 0o711);
  const stateFile = path.join(dir, 'cluster.json');
  const state = readState(stateFile);
  const saveState = () => fs.writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  const names = { temporal: 'temporal', visibility: 'temporal_visibility', ouija: 'ouija', ...options.databases };
  const taken = new Set<number>();

  const cleanups: Array<() => Promise<void>> = [];
  const undo = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => log.warn({ err }, 'cleanup after a failed cluster start'));
  };
  try {
    const install = options.install ?? (await ensureTemporalServer({ log }));

    // --- Postgres: given, or our own in <dir>/postgres -------------------------------------------------------------
    let pg: PostgresServer | null = null;
    let temporalStore: Omit<SqlStore, 'database'>;
    let ouijaStore: Omit<SqlStore, 'database'>;
    if (options.postgresUrl) {
      const url = new URL(options.postgresUrl);
      const given = { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
      temporalStore = given;
      ouijaStore = given;
      const admin = new Client({ connectionString: options.postgresUrl });
      await admin.connect();
      try {
        await ensureDatabase(admin, names.ouija);
      } finally {
        await admin.end();
      }
    } else {
      const port = await choosePort(options.postgresPort, [state.postgres?.port, 5432], taken);
      let socketDir = path.join(dir, 'postgres', 'socket');
      if (path.join(socketDir, `.s.PGSQL.${port}`).length > 100) {
        socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-pgsock-'));
        const made = socketDir;
        cleanups.push(async () => fs.rmSync(made, { recursive: true, force: true }));
      }
      const server = await startPostgresServer({
        dataDir: path.join(dir, 'postgres', 'data'),
        socketDir,
        port,
        durable: options.durablePostgres !== false,
        // Four Temporal services with pools of their own, Ouija's pools, the tests' databases.
        settings: { max_connections: '300' },
        log,
      });
      pg = server;
      cleanups.push(() => server.stop('fast'));
      const passwords = state.postgres?.passwords ?? { temporal: secret(), ouija: secret() };
      state.postgres = { port, passwords };
      saveState();
      const admin = await server.connectAdmin();
      try {
        await ensureRole(admin, 'temporal', passwords.temporal, 'CREATEDB');
        await ensureRole(admin, 'ouija', passwords.ouija, 'CREATEDB');
        await ensureDatabase(admin, names.ouija, 'ouija');
      } finally {
        await admin.end();
      }
      temporalStore = { host: HOST, port, user: 'temporal', password: passwords.temporal };
      ouijaStore = { host: HOST, port, user: 'ouija', password: passwords.ouija };
    }
    const persistence: SqlStore = { ...temporalStore, database: names.temporal };
    const visibility: SqlStore = { ...temporalStore, database: names.visibility };
    const schemaStarted = Date.now();
    await setupTemporalSchema(install, persistence, 'temporal', log);
    await setupTemporalSchema(install, visibility, 'visibility', log);
    log.debug({ ms: Date.now() - schemaStarted }, 'Temporal schemas ready');

    // --- the Temporal server ------------------------------------------------------------------------------------------
    const temporalDir = path.join(dir, 'temporal');
    fs.mkdirSync(temporalDir, { recursive: true });
    const frontend = await choosePort(options.port, [7233, state.serverPorts?.frontend], taken);
    const ports = { frontend } as TemporalServerPorts;
    for (const name of SERVER_PORT_NAMES) if (name !== 'frontend') ports[name] = await choosePort(undefined, [state.serverPorts?.[name]], taken);
    state.serverPorts = ports;
    saveState();
    let dynamicConfig = dynamicConfigFile();
    if (options.extraDynamicConfig && Object.keys(options.extraDynamicConfig).length) {
      dynamicConfig = path.join(temporalDir, 'dynamicconfig.yaml');
      const layered = layerDynamicConfig(fs.readFileSync(dynamicConfigFile(), 'utf8'), options.extraDynamicConfig, 'Layered by the launcher for this cluster only (tests).');
      fs.writeFileSync(dynamicConfig, layered);
    }
    const configFile = path.join(temporalDir, 'config.yaml');
    const config = temporalServerConfig({ host: HOST, ports, persistence, visibility, dynamicConfigFile: dynamicConfig });
    fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 }); // it holds the password
    const address = `${HOST}:${frontend}`;
    const serverLog = fs.createWriteStream(path.join(temporalDir, 'server.log'), { flags: 'a' });
    serverLog.on('error', (err) => log.warn({ err }, 'cannot write the Temporal server log'));
    cleanups.push(() => new Promise<void>((resolve) => serverLog.end(resolve)));
    const launchServer = () =>
      startTemporalServer({ install, configFile, address, cwd: temporalDir, log: log.child({}, { level: 'warn' }), onLine: (line) => void (serverLog.writableEnded || serverLog.write(`${line}\n`)) });
    let server: TemporalServerProcess = await launchServer();
    cleanups.push(() => server.stop());

    const connection = await Connection.connect({ address });
    try {
      const since = Date.now();
      await ensureNamespace(connection, options.namespace);
      await waitForNamespaceReady(connection, options.namespace, 120_000);
      log.debug({ namespace: options.namespace, ms: Date.now() - since }, 'namespace ready');
    } finally {
      await connection.close();
    }

    // --- the Web UI ---------------------------------------------------------------------------------------------------
    let ui: UiServerProcess | null = null;
    if (options.ui !== false) {
      const uiPort = await choosePort(options.uiPort, [8233], taken);
      ui = await startUiServer({ binary: install.uiServer, dir: path.join(dir, 'ui'), temporalAddress: address, host: HOST, port: uiPort, defaultNamespace: options.namespace, log: log.child({}, { level: 'warn' }) });
      const started = ui;
      cleanups.push(() => started.stop());
    }

    const ouijaDb: SqlStore = { ...ouijaStore, database: names.ouija };
    const maintenance: SqlStore = { ...ouijaStore, database: 'postgres' };
    let stopping: Promise<void> | null = null;
    const cluster: Cluster = {
      address,
      uiUrl: ui?.url ?? null,
      namespace: options.namespace,
      databaseUrl: urlFor(ouijaDb),
      postgresUrl: options.postgresUrl ?? urlFor(maintenance),
      install,
      dir,
      serverPid: () => server.pid,
      postgresPid: () => pg?.pid() ?? null,
      uiPid: () => (ui && !ui.process.exit() ? ui.pid : null),
      stop: () =>
        (stopping ??= (async () => {
          // In order: the UI (it calls the server), the server (it writes to Postgres), Postgres; each bounded.
          for (const [what, fn] of cleanups.splice(0).reverse().map((fn, i) => [`cluster stop step ${i + 1}`, fn] as const)) {
            await bounded(what, 40_000, fn, log);
          }
        })()),
      killServer: () => server.kill(),
      restartServer: async () => {
        await server.kill();
        server = await launchServer();
        await probeTemporal(address);
      },
    };
    log.info({ address, uiUrl: cluster.uiUrl, dir, postgres: options.postgresUrl ? 'given' : `own, port ${pg?.port}` }, 'Temporal cluster ready');
    return cluster;
  } catch (err) {
    await undo();
    throw err;
  }
}
