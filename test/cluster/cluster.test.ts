/**
 * The cluster launcher against the real parts: the project's shared cluster is a real server on Postgres for
 * persistence and visibility; `ouija cluster` (the command, as a user runs it) prints where everything is and leaves
 * no process after Ctrl-C; started again on its state, a workflow is still there, also after the handle's
 * killServer()/restartServer() crashed and revived the Temporal server alone; a given Postgres gets the databases.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { dynamicConfigFile, startCluster, type Cluster } from '../../src/temporal/cluster';
import { ensureNamespace, waitForNamespaceReady } from '../../src/temporal/namespace';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { probeTemporal } from '../../src/temporal/server';
import { findTemporalServer, temporalServerVersions } from '../../src/temporal/server-install';
import { TEST_DYNAMIC_CONFIG } from './test-dynamic-config';

const ROOT = path.resolve(__dirname, '../..');
const execFileAsync = promisify(execFile);

const alive = (pid: number | null) => {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'; // a zombie is gone
  } catch {
    return false;
  }
};

/** Every process whose command line names `dir` (Postgres, the Temporal server, the UI server all do). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmdline.includes(dir) && alive(Number(pid))) found.push(`${pid} ${cmdline.trim()}`);
  }
  return found;
}

async function withConnection<T>(address: string, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

/** Starts a workflow no worker will pick up: it stays running, in history and in visibility. */
async function startIdleWorkflow(address: string, namespace: string, workflowId: string): Promise<void> {
  await withConnection(address, (connection) =>
    new Client({ connection, namespace }).workflow.start('nobodyRunsThis', {
      workflowId,
      taskQueue: 'nobody-polls-this',
      searchAttributes: { OuijaCard: [workflowId] },
    }),
  );
}

async function workflowStatus(address: string, namespace: string, workflowId: string): Promise<string> {
  return withConnection(address, async (connection) => (await new Client({ connection, namespace }).workflow.getHandle(workflowId).describe()).status.name);
}

async function countByCard(address: string, namespace: string, card: string): Promise<number> {
  return withConnection(address, async (connection) => (await new Client({ connection, namespace }).workflow.count(`OuijaCard = '${card}'`)).count);
}

interface RunningCommand {
  child: ChildProcess;
  env: Record<string, string>;
  output: () => string;
  /** Ctrl-C; resolves with the exit code. */
  interrupt(): Promise<number | null>;
}

const commands: ChildProcess[] = [];

/** `ouija cluster` from source, as a user runs it; resolves once it printed its environment lines. */
async function runClusterCommand(dataDir: string, args: string[]): Promise<RunningCommand> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'cluster', ...args], {
    cwd: ROOT,
    detached: true, // its own group: afterAll can take it down whatever happened
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.homedir(), OUIJA_DATA_DIR: dataDir, OUIJA_LOG_LEVEL: 'warn', ...cacheEnv() },
  });
  commands.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Ctrl-C stops all of it')) {
    if (child.exitCode !== null) throw new Error(`ouija cluster exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`ouija cluster did not get ready:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const env = Object.fromEntries([...out.matchAll(/^([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return {
    child,
    env,
    output: () => out,
    interrupt: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** The install cache the suite uses, so the command finds the same build. */
function cacheEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['OUIJA_CACHE_DIR', 'XDG_CACHE_HOME']) if (process.env[key]) env[key] = process.env[key]!;
  return env;
}

afterAll(() => {
  for (const child of commands) {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // only if a test failed half-way: the command then left its group
    } catch {
      /* gone, as it should be */
    }
  }
});

test('the project cluster is the real server on Postgres: persistence and visibility postgres12', async () => {
  const info = await withConnection(process.env.TEMPORAL_ADDRESS!, (connection) => connection.workflowService.getClusterInfo({}));
  expect({ server: info.serverVersion, persistence: info.persistenceStore, visibility: info.visibilityStore }).toEqual({
    server: temporalServerVersions().server,
    persistence: 'postgres12',
    visibility: 'postgres12',
  });
});

test('waitForNamespaceReady(): a namespace registered a moment ago then takes starts and queries on every search attribute', async () => {
  const address = process.env.TEMPORAL_ADDRESS!;
  const namespace = `ouija-ready-${randomUUID().slice(0, 8)}`;
  await withConnection(address, async (connection) => {
    await ensureNamespace(connection, namespace, 1);
    await waitForNamespaceReady(connection, namespace);
    const client = new Client({ connection, namespace });
    const workflowId = `ready-${randomUUID()}`;
    const searchAttributes = Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, [workflowId]]));
    await client.workflow.start('nobodyRunsThis', { workflowId, taskQueue: 'nobody-polls-this', searchAttributes });
    const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} = '${workflowId}'`).join(' AND ');
    // Visibility is written after the start: poll, bounded.
    const deadline = Date.now() + 30_000;
    let count = 0;
    while ((count = (await client.workflow.count(query)).count) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(count).toBe(1);
  });
});

test('deploy/temporal/dynamicconfig.yaml holds only keys and values this server knows', async () => {
  const install = findTemporalServer();
  expect(install).not.toBeNull();
  // The server's own check prints a warning per unknown key or mistyped value, and exits 0 regardless.
  const { stdout, stderr } = await execFileAsync(install!.server, ['validate-dynamic-config', dynamicConfigFile()]);
  expect(`${stdout}${stderr}`).not.toMatch(/warning|error/i);
  // And the check itself can fail.
  const bad = path.join(os.tmpdir(), `ouija-bad-dynamicconfig-${process.pid}.yaml`);
  fs.writeFileSync(bad, 'limit.maxIDLength:\n  - value: not-a-number\n');
  try {
    expect((await execFileAsync(install!.server, ['validate-dynamic-config', bad])).stdout).toMatch(/warning: validation failed/);
  } finally {
    fs.rmSync(bad, { force: true });
  }
});

test('ouija cluster: prints where everything is and Ctrl-C leaves no process; a restart keeps the workflow; killServer()/restartServer()', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-cluster-cmd-'));
  fs.chmodSync(dataDir, 0o755); // as root, Postgres runs as the postgres user, which must enter it (mkdtemp: 0700)
  let cluster: Cluster | undefined;
  try {
    const first = await runClusterCommand(dataDir, ['--port', '0', '--ui-port', '0', '--postgres-port', '0']);
    const { TEMPORAL_ADDRESS: address, DATABASE_URL: databaseUrl, OUIJA_TEMPORAL_UI_URL: uiUrl, TEMPORAL_NAMESPACE: namespace } = first.env;
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(namespace).toBe('default');
    expect(first.output()).toContain('persistence postgres12, visibility postgres12');

    // Ouija's own database beside Temporal's, reachable with the printed URL.
    const pg = new PgClient({ connectionString: databaseUrl });
    await pg.connect();
    try {
      expect((await pg.query('SELECT current_database() AS db, current_user AS who')).rows[0]).toEqual({ db: 'ouija', who: 'ouija' });
      const dbs = (await pg.query('SELECT datname FROM pg_database ORDER BY datname')).rows.map((r) => r.datname);
      expect(dbs).toEqual(expect.arrayContaining(['ouija', 'temporal', 'temporal_visibility']));
    } finally {
      await pg.end();
    }
    // The namespace carries Ouija's search attributes, and the Web UI server talks to the frontend.
    const custom = await withConnection(address!, async (c) => (await c.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {});
    expect(Object.keys(custom)).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    const namespaces = (await (await fetch(`${uiUrl}/api/v1/namespaces`)).json()) as { namespaces: Array<{ namespaceInfo: { name: string } }> };
    expect(namespaces.namespaces.map((n) => n.namespaceInfo.name)).toContain('default');

    const workflowId = `kept-${randomUUID()}`;
    await startIdleWorkflow(address!, namespace!, workflowId);
    const running = processesUnder(dataDir);
    expect(running.some((p) => p.includes('temporal-server'))).toBe(true);
    expect(running.some((p) => p.includes('temporal-ui-server'))).toBe(true);
    expect(running.some((p) => /\/postgres -D/.test(p))).toBe(true);

    expect(await first.interrupt()).toBe(0);
    expect(processesUnder(dataDir)).toEqual([]);

    // The same state directory again (the handle the command uses), on the ports it printed.
    cluster = await startCluster({
      dir: path.join(dataDir, 'cluster'),
      namespace: namespace!,
      port: Number(address!.split(':')[1]),
      postgresPort: Number(new URL(databaseUrl!).port),
      ui: false,
      extraDynamicConfig: TEST_DYNAMIC_CONFIG,
    });
    expect(cluster.address).toBe(address);
    expect(cluster.databaseUrl).toBe(databaseUrl);
    expect(await workflowStatus(address!, namespace!, workflowId)).toBe('RUNNING');
    expect(await countByCard(address!, namespace!, workflowId)).toBe(1);

    // A crash of the Temporal server alone, and its restart on the same ports and database.
    const pid = cluster.serverPid();
    const postgresPid = cluster.postgresPid();
    await cluster.killServer();
    expect(alive(pid)).toBe(false);
    expect(alive(postgresPid)).toBe(true);
    await expect(probeTemporal(address!)).rejects.toThrow();
    await cluster.restartServer();
    expect(cluster.serverPid()).not.toBe(pid);
    expect(alive(cluster.serverPid())).toBe(true);
    expect(await workflowStatus(address!, namespace!, workflowId)).toBe('RUNNING');
    expect(await countByCard(address!, namespace!, workflowId)).toBe(1);

    await cluster.stop();
    expect(processesUnder(dataDir)).toEqual([]);
  } finally {
    await cluster?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('given a Postgres server, the cluster creates its databases there under that user', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-cluster-given-'));
  const suffix = randomUUID().slice(0, 8);
  const databases = { temporal: `t_${suffix}`, visibility: `tv_${suffix}`, ouija: `o_${suffix}` };
  const given = process.env.OUIJA_TEST_DATABASE_URL!; // the project cluster's Postgres, as `ouija cluster --postgres-url`
  let cluster: Cluster | undefined;
  const admin = new PgClient({ connectionString: given });
  await admin.connect();
  try {
    cluster = await startCluster({ dir, namespace: 'ouija-given', port: 0, ui: false, postgresUrl: given, databases, extraDynamicConfig: TEST_DYNAMIC_CONFIG });
    expect(cluster.postgresPid()).toBeNull();
    const info = await withConnection(cluster.address, (connection) => connection.workflowService.getClusterInfo({}));
    expect([info.persistenceStore, info.visibilityStore]).toEqual(['postgres12', 'postgres12']);
    const owners = await admin.query('SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ANY($1) ORDER BY datname', [Object.values(databases)]);
    const user = decodeURIComponent(new URL(given).username);
    expect(owners.rows).toEqual(Object.values(databases).sort().map((datname) => ({ datname, owner: user })));
    expect(new URL(cluster.databaseUrl).pathname).toBe(`/${databases.ouija}`);
    await cluster.stop();
    expect(processesUnder(dir)).toEqual([]);
  } finally {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    for (const db of Object.values(databases)) await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(db)} WITH (FORCE)`);
    await admin.end();
  }
});
