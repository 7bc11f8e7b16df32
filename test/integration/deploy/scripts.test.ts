/**
 * The scripts the compose services run, run here for real: init-roles.sh against a throwaway Postgres,
 * setup-schema.sh and ouija-setup.sh with stand-ins for temporal-sql-tool and node that record their calls, and
 * the image's health check against a local HTTP server.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { findPostgresBinDir, startTestPostgres, type TestPostgres } from '../../support/postgres-server';
import { ROOT } from './helpers';

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(script: string, env: Record<string, string>, args: string[] = []): Promise<Result> {
  try {
    const { stdout, stderr } = await run('sh', [script, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'ouija-deploy-'));

/** An executable that appends its arguments (one line per call) to `log`, then runs `then` (sh). */
function recorder(file: string, log: string, then = 'exit 0'): string {
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${then}\n`);
  chmodSync(file, 0o755);
  return file;
}
const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('deploy/temporal/setup-schema.sh', () => {
  const SCRIPT = path.join(ROOT, 'deploy/temporal/setup-schema.sh');
  const connection = { SQL_HOST: 'db', SQL_USER: 'temporal', SQL_PASSWORD: 'pw' };

  test('creates both databases, adds the version tables, then applies the versioned schema of each', async () => {
    const dir = tmp();
    const log = path.join(dir, 'calls');
    const tool = recorder(path.join(dir, 'temporal-sql-tool'), log, `[ "$SQL_PASSWORD" = pw ] || exit 9`);
    const result = await sh(SCRIPT, { ...connection, TEMPORAL_SQL_TOOL: tool, TEMPORAL_SCHEMA_DIR: '/schema/v12' });
    expect(result).toEqual(expect.objectContaining({ code: 0 }));
    expect(calls(log)).toEqual([
      '--plugin postgres12 --db temporal create-database',
      '--plugin postgres12 --db temporal setup-schema -v 0.0',
      '--plugin postgres12 --db temporal update-schema -d /schema/v12/temporal/versioned',
      '--plugin postgres12 --db temporal_visibility create-database',
      '--plugin postgres12 --db temporal_visibility setup-schema -v 0.0',
      '--plugin postgres12 --db temporal_visibility update-schema -d /schema/v12/visibility/versioned',
    ]);
  });

  test('uses the admin-tools image schema folder and the database names the compose file gives it', async () => {
    const dir = tmp();
    const log = path.join(dir, 'calls');
    const tool = recorder(path.join(dir, 'temporal-sql-tool'), log);
    const result = await sh(SCRIPT, { ...connection, TEMPORAL_SQL_TOOL: tool, DBNAME: 'main', VISIBILITY_DBNAME: 'vis' });
    expect(result.code).toBe(0);
    expect(calls(log).filter((c) => c.includes('update-schema'))).toEqual([
      '--plugin postgres12 --db main update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned',
      '--plugin postgres12 --db vis update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned',
    ]);
  });

  test('stops at the first failing step with a non-zero status (so the server never starts on half a schema)', async () => {
    const dir = tmp();
    const log = path.join(dir, 'calls');
    const tool = recorder(path.join(dir, 'temporal-sql-tool'), log, `case "$*" in *update-schema*) exit 3;; esac`);
    const result = await sh(SCRIPT, { ...connection, TEMPORAL_SQL_TOOL: tool });
    expect(result.code).not.toBe(0);
    expect(calls(log)).toHaveLength(3);
    expect(calls(log).at(-1)).toContain('--db temporal update-schema');
  });

  test('refuses to run without a password, naming it', async () => {
    const dir = tmp();
    const log = path.join(dir, 'calls');
    const tool = recorder(path.join(dir, 'temporal-sql-tool'), log);
    const result = await sh(SCRIPT, { SQL_HOST: 'db', SQL_USER: 'temporal', TEMPORAL_SQL_TOOL: tool });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('SQL_PASSWORD');
    expect(calls(log)).toEqual([]);
  });
});

describe('deploy/docker/ouija-setup.sh', () => {
  /** The script in a copy of the image's layout (<root>/deploy/docker/), with `node` recorded; `then(log)` is its sh. */
  function layout(then: (log: string) => string): { script: string; log: string; bin: string; root: string } {
    const root = tmp();
    mkdirSync(path.join(root, 'deploy/docker'), { recursive: true });
    mkdirSync(path.join(root, 'stubs'));
    const script = path.join(root, 'deploy/docker/ouija-setup.sh');
    copyFileSync(path.join(ROOT, 'deploy/docker/ouija-setup.sh'), script);
    const log = path.join(root, 'calls');
    recorder(path.join(root, 'stubs/node'), log, then(log));
    return { script, log, bin: path.join(root, 'stubs'), root };
  }
  const envFor = (bin: string, extra: Record<string, string> = {}) => ({ PATH: `${bin}:${process.env.PATH ?? ''}`, OUIJA_SETUP_RETRY_SECONDS: '0', ...extra });

  test('retries `ouija setup` while it fails, then runs `ouija migrate`, both with the image’s bin/ouija.js', async () => {
    // setup fails twice (Temporal still warming up), then succeeds: the recorder has logged this call already.
    const { script, log, bin, root } = layout((log) => `if [ "$2" = setup ]; then [ "$(grep -c ' setup$' '${log}')" -ge 3 ]; fi`);
    const result = await sh(script, envFor(bin));
    expect(result.code).toBe(0);
    const cli = path.join(root, 'bin/ouija.js');
    const resolved = calls(log).map((c) => c.split(' ')).map(([file, ...rest]) => [path.resolve(file!), ...rest].join(' '));
    expect(resolved).toEqual([`${cli} setup`, `${cli} setup`, `${cli} setup`, `${cli} migrate`]);
    expect(result.stderr).toContain('attempt 2 of 30');
  });

  test('gives up after OUIJA_SETUP_ATTEMPTS failures without migrating, with a non-zero status', async () => {
    const { script, log, bin } = layout(() => `[ "$2" = setup ] && exit 1; exit 0`);
    const result = await sh(script, envFor(bin, { OUIJA_SETUP_ATTEMPTS: '3' }));
    expect(result.code).not.toBe(0);
    expect(calls(log).map((c) => c.split(' ').at(-1))).toEqual(['setup', 'setup', 'setup']);
    expect(result.stderr).toContain('failed 3 times');
  });

  test('a failed migration fails the service', async () => {
    const { script, log, bin } = layout(() => `[ "$2" = migrate ] && exit 4; exit 0`);
    const result = await sh(script, envFor(bin));
    expect(result.code).toBe(4);
    expect(calls(log).map((c) => c.split(' ').at(-1))).toEqual(['setup', 'migrate']);
  });
});

describe('deploy/postgres/init-roles.sh', () => {
  const SCRIPT = path.join(ROOT, 'deploy/postgres/init-roles.sh');
  let pg: TestPostgres;
  let psqlPath: string;
  beforeAll(async () => {
    pg = await startTestPostgres();
    psqlPath = await findPostgresBinDir();
  }, 120_000);
  afterAll(() => pg?.stop());

  const superuserEnv = () => {
    const url = new URL(pg.url);
    return { PATH: `${psqlPath}:${process.env.PATH ?? ''}`, PGHOST: url.hostname, PGPORT: url.port, PGUSER: decodeURIComponent(url.username), PGPASSWORD: decodeURIComponent(url.password), PGDATABASE: 'postgres' };
  };
  const as = (user: string, password: string, database: string) => {
    const url = new URL(pg.url);
    url.username = user;
    url.password = password;
    url.pathname = `/${database}`;
    return new Client({ connectionString: url.toString() });
  };
  async function query<T>(client: Client, sql: string): Promise<T[]> {
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  }

  test('creates the roles and the ouija database; runs again to rotate the passwords', async () => {
    const first = await sh(SCRIPT, { ...superuserEnv(), TEMPORAL_DB_PASSWORD: 'temporal-one', OUIJA_DB_PASSWORD: 'ouija-one' });
    expect(first).toEqual(expect.objectContaining({ code: 0 }));

    // ouija owns its database and can create tables there (what `ouija migrate` does); it is no superuser.
    await query(as('ouija', 'ouija-one', 'ouija'), 'CREATE TABLE probe (id int)');
    const [ouija] = await query<{ rolsuper: boolean; rolcreatedb: boolean }>(as('ouija', 'ouija-one', 'ouija'), "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = 'ouija'");
    expect(ouija).toEqual({ rolsuper: false, rolcreatedb: false });
    // temporal may create databases (temporal-sql-tool create-database) but is no superuser either.
    await query(as('temporal', 'temporal-one', 'postgres'), 'CREATE DATABASE temporal_probe');
    const [temporal] = await query<{ rolsuper: boolean }>(as('temporal', 'temporal-one', 'postgres'), "SELECT rolsuper FROM pg_roles WHERE rolname = 'temporal'");
    expect(temporal).toEqual({ rolsuper: false });

    const second = await sh(SCRIPT, { ...superuserEnv(), TEMPORAL_DB_PASSWORD: 'temporal-two', OUIJA_DB_PASSWORD: 'ouija-two' });
    expect(second.code).toBe(0);
    await expect(query(as('ouija', 'ouija-one', 'ouija'), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    // The data survived the second run (nothing recreated), under the new password.
    await expect(query(as('ouija', 'ouija-two', 'ouija'), 'SELECT count(*) FROM probe')).resolves.toEqual([{ count: '0' }]);
    await expect(query(as('temporal', 'temporal-two', 'postgres'), 'SELECT 1 AS ok')).resolves.toEqual([{ ok: 1 }]);
  });

  test('refuses to run without the passwords, naming the missing one', async () => {
    const result = await sh(SCRIPT, { ...superuserEnv(), TEMPORAL_DB_PASSWORD: 'x' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('OUIJA_DB_PASSWORD');
  });

  test('a password with quotes reaches Postgres as written (psql quotes it, no SQL is built from it)', async () => {
    const tricky = "it's a \"pass\"; DROP ROLE x; --";
    const result = await sh(SCRIPT, { ...superuserEnv(), TEMPORAL_DB_PASSWORD: tricky, OUIJA_DB_PASSWORD: 'ouija-three' });
    expect(result.code).toBe(0);
    await expect(query(as('temporal', tricky, 'postgres'), 'SELECT 1 AS ok')).resolves.toEqual([{ ok: 1 }]);
  });
});

describe('deploy/docker/healthcheck.js', () => {
  const SCRIPT = path.join(ROOT, 'deploy/docker/healthcheck.js');
  const { healthUrl } = require(SCRIPT) as { healthUrl(argv: string[], env: Record<string, string | undefined>): string | null };
  const main = ['/usr/bin/tini', '--', 'node', '/opt/ouija/bin/ouija.js'];

  test('derives the URL from the main process: api on PORT, worker on WORKER_PORT, nothing for one-shots', () => {
    expect(healthUrl([...main, 'api'], { PORT: '4000', HOST: '0.0.0.0' })).toBe('http://127.0.0.1:4000/healthz');
    expect(healthUrl([...main, 'api'], {})).toBe('http://127.0.0.1:3000/healthz');
    expect(healthUrl([...main, 'api'], { HOST: '::1', PORT: '3000' })).toBe('http://[::1]:3000/healthz');
    expect(healthUrl([...main, 'worker', '-q', 'agents'], { WORKER_PORT: '3001', PORT: '9' })).toBe('http://127.0.0.1:3001/healthz');
    expect(healthUrl([...main, 'worker'], { PORT: '3000' })).toBeNull();
    expect(healthUrl([...main, 'migrate'], { PORT: '3000' })).toBeNull();
    expect(healthUrl(['/bin/sh', '/opt/ouija/deploy/docker/ouija-setup.sh'], { PORT: '3000' })).toBeNull();
  });

  test('exits 0 on a 200 from the URL, 1 on another status, on no answer and on a closed port', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const probe = (url: string) => run(process.execPath, [SCRIPT, url]).then(() => 0, (err: { code?: number }) => err.code ?? -1);
    try {
      expect(await probe(`${base}/healthz`)).toBe(0);
      expect(await probe(`${base}/readyz`)).toBe(1);
      expect(await probe(`${base}/hang`)).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await probe(`${base}/healthz`)).toBe(1);
  }, 30_000);
});
