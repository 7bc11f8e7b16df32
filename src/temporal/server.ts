/**
 * The real Temporal server (all four services in one process, `temporal-server start`) on PostgreSQL, for
 * persistence and SQL visibility alike (the `postgres12` plugin): its schemas, its config file and its process.
 * src/temporal/cluster.ts puts it together with Postgres and the Web UI for `ouija cluster`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import type { Logger } from '../log';
import { spawnGroup, type GroupProcess } from '../processes';
import type { TemporalServerInstall } from './server-install';

const execFileAsync = promisify(execFile);

export interface SqlStore {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface TemporalServerPorts {
  /** The frontend's gRPC port: TEMPORAL_ADDRESS. */
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
}

export const SERVER_PORT_NAMES = [
  'frontend',
  'frontendHttp',
  'history',
  'matching',
  'worker',
  'frontendMembership',
  'historyMembership',
  'matchingMembership',
  'workerMembership',
] as const satisfies ReadonlyArray<keyof TemporalServerPorts>;

export interface TemporalServerConfigInput {
  host: string;
  ports: TemporalServerPorts;
  persistence: SqlStore;
  visibility: SqlStore;
  dynamicConfigFile: string;
  /** Fixed once the cluster's database exists; 4 is the sample configs' value, plenty for one machine. */
  numHistoryShards?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * The server's config (the shape of the module's config/development-postgres12.yaml, ports and addresses filled in).
 * Returned as an object: its JSON is valid YAML, which is what the server reads.
 */
export function temporalServerConfig(o: TemporalServerConfigInput): Record<string, unknown> {
  const store = (s: SqlStore, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: s.database,
      connectAddr: `${s.host}:${s.port}`,
      connectProtocol: 'tcp',
      user: s.user,
      password: s.password,
      // Each of the four services has pools of its own: 4 × (10 + 5) connections at most.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: o.host === '127.0.0.1', ...(o.host === '127.0.0.1' ? {} : { bindOnIP: o.host }), ...extra },
  });
  const { ports } = o;
  return {
    log: { stdout: true, level: o.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: o.numHistoryShards ?? 4,
      datastores: { 'postgres-default': store(o.persistence, 10), 'postgres-visibility': store(o.visibility, 5) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: o.host } },
    services: {
      frontend: rpc(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      history: rpc(ports.history, ports.historyMembership),
      matching: rpc(ports.matching, ports.matchingMembership),
      worker: rpc(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${o.host}:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Top-level keys of a dynamic config file (`key:` at the start of a line). */
export function dynamicConfigKeys(yaml: string): string[] {
  return [...yaml.matchAll(/^([^\s#-][^:]*):/gm)].map((m) => m[1]!.trim());
}

/**
 * `base` (deploy/temporal/dynamicconfig.yaml, verbatim) with more keys appended, each one constraint-free value.
 * A key the base sets already is an error rather than a silent override: the shared file must stay the truth.
 */
export function layerDynamicConfig(base: string, extra: Record<string, unknown>, why: string): string {
  const taken = new Set(dynamicConfigKeys(base));
  const clash = Object.keys(extra).filter((k) => taken.has(k));
  if (clash.length) throw new Error(`dynamic config keys already set by the base file: ${clash.join(', ')}`);
  if (Object.keys(extra).length === 0) return base;
  const lines = Object.entries(extra).map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}`);
  return `${base.replace(/\n*$/, '\n')}\n# ${why}\n${lines.join('\n')}\n`;
}

/** Creates the database if missing and brings its schema to the newest version of the server's versioned dir. */
export async function setupTemporalSchema(install: TemporalServerInstall, store: SqlStore, schema: 'temporal' | 'visibility', log?: Logger): Promise<void> {
  const tool = async (args: string[]) => {
    const argv = ['--plugin', 'postgres12', '--ep', store.host, '-p', String(store.port), '-u', store.user, '--db', store.database, ...args];
    try {
      // The password through the environment, not the command line (which `ps` shows).
      await execFileAsync(install.sqlTool, argv, { env: { ...process.env, SQL_PASSWORD: store.password }, maxBuffer: 64 * 1024 * 1024, timeout: 5 * 60_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      const out = `${e.stderr ?? ''}${e.stdout ?? ''}`.split('\n').filter((l) => /ERROR|FATAL|error/.test(l)).slice(-5).join('\n');
      throw new Error(`temporal-sql-tool ${args[0]} on ${store.database} failed: ${out || (err as Error).message}`, { cause: err });
    }
  };
  const started = Date.now();
  await tool(['create-database']); // a no-op when it exists
  await tool(['setup-schema', '-v', '0.0']); // the version table; skipped when the schema is past 0.0
  await tool(['update-schema', '-d', path.join(install.postgresSchemaDir, schema, 'versioned')]);
  log?.debug({ database: store.database, ms: Date.now() - started }, 'Temporal schema up to date');
}

export interface TemporalServerProcess {
  address: string;
  pid: number;
  process: GroupProcess;
  /** SIGTERM, SIGKILL after the grace. */
  stop(): Promise<void>;
  /** SIGKILL, at once. */
  kill(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One readiness probe: the frontend's health service serves and the system namespace describes. */
export async function probeTemporal(address: string): Promise<void> {
  // lazy + ensureConnected rather than connect(): a failed connect() leaves its channel open.
  const connection = Connection.lazy({ address, connectTimeout: '2s' });
  try {
    await connection.ensureConnected();
    const health = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
    if (health.status !== 1) throw new Error(`frontend health ${health.status}`); // 1: SERVING
    await connection.workflowService.describeNamespace({ namespace: 'temporal-system' });
  } finally {
    await connection.close();
  }
}

/** Starts the server on a written config file; resolves once it answers (or throws with its last output). */
export async function startTemporalServer(o: {
  install: TemporalServerInstall;
  configFile: string;
  address: string;
  cwd: string;
  log?: Logger;
  startTimeoutMs?: number;
  stopGraceMs?: number;
  /** Every line the server writes (its log), from the first. */
  onLine?: (line: string) => void;
}): Promise<TemporalServerProcess> {
  fs.mkdirSync(o.cwd, { recursive: true });
  const proc = await spawnGroup(o.install.server, ['--config-file', o.configFile, '--allow-no-auth', 'start'], { name: 'temporal-server', cwd: o.cwd, log: o.log, onLine: o.onLine });
  const stop = () => proc.stop({ graceMs: o.stopGraceMs ?? 15_000 });
  const timeoutMs = o.startTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const attempt = probeTemporal(o.address).then(
      () => 'ready' as const,
      (err: unknown) => {
        lastError = err;
        return 'not yet' as const;
      },
    );
    const outcome = await Promise.race([attempt, proc.exited]);
    if (outcome === 'ready') break;
    if (outcome !== 'not yet') {
      await attempt; // let the probe close its connection: no handle outlives this
      throw new Error(`Temporal server exited early (code ${outcome.code}, signal ${outcome.signal}):\n${proc.tail}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Temporal server at ${o.address} did not answer within ${timeoutMs} ms (last error: ${(lastError as Error)?.message}):\n${proc.tail}`);
    }
    await sleep(200);
  }
  return { address: o.address, pid: proc.pid, process: proc, stop, kill: () => proc.kill() };
}
