/**
 * The production split's own interfaces, through the real `ouija` CLI: `ouija worker` and `ouija api` refuse to start
 * without a shared Postgres (and an API listener other machines can reach refuses without a token); `ouija worker`
 * serves /healthz, /readyz and /metrics on WORKER_PORT; `ouija api` binds HOST.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isolatedOuija, type IsolatedOuija } from '../../support/isolated-ouija';
import { runCli } from '../../support/run-cli';

const ROOT = path.resolve(__dirname, '../../..');
let world: IsolatedOuija;
const children: ChildProcess[] = [];

beforeAll(async () => {
  world = await isolatedOuija({ address: process.env.TEMPORAL_ADDRESS!, prefix: 'ouija-prod', builtinWebhookSecret: 'prod-secret' });
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await world?.database.close();
  if (world) fs.rmSync(world.workDir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
  TEMPORAL_NAMESPACE: world.namespace,
  OUIJA_DATA_DIR: path.join(world.workDir, 'data'),
  ...extra,
});

/** Starts `ouija <args>` and resolves with the first stdout line matching `ready` (and the child). */
function start(args: string[], extra: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', OUIJA_LOG_LEVEL: 'warn', ...env(extra) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`ouija ${args.join(' ')} exited (${code}) before it was ready:\n${out}\n${err}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

test('worker and api refuse to start without DATABASE_URL, saying why', async () => {
  for (const command of ['worker', 'api']) {
    const run = await runCli([command], env());
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`DATABASE_URL is required for \`ouija ${command}\``);
  }
});

test('api on a non-loopback HOST refuses without OUIJA_API_TOKEN', async () => {
  const run = await runCli(['api'], env({ DATABASE_URL: world.database.url, HOST: '0.0.0.0', PORT: '0' }));
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain('set OUIJA_API_TOKEN');
});

test('a worker serves /healthz, /readyz and /metrics on WORKER_PORT, and stops on SIGTERM', async () => {
  const { child, match } = await start(['worker', '-q', 'workflows', 'agents', 'git'], { DATABASE_URL: world.database.url, WORKER_PORT: '0' }, /host (\S+), health and metrics on (http:\/\/\S+)\n/);
  const [, host, url] = match;
  expect(host).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
  expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ ok: true, postgres: 'ok', temporal: 'ok', workers: 'ok' });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toMatch(/^ouija_/m);
  expect(metrics).toMatch(/^temporal_/m);
  // No board API or webhooks on a worker.
  expect((await fetch(`${url}/api/boards/nope`)).status).toBe(404);
  expect((await fetch(`${url}/webhooks/builtin`, { method: 'POST' })).status).toBe(404);
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
});

test('api binds HOST: on 0.0.0.0 with a token it answers on loopback and wants the token', async () => {
  const { child, match } = await start(['api'], { DATABASE_URL: world.database.url, HOST: '0.0.0.0', PORT: '0', OUIJA_API_TOKEN: 'tok-123' }, /listening on (http:\/\/\S+) \(HOST=0\.0\.0\.0\)/);
  const url = match[1]!;
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/api/boards/nope`)).status).toBe(401);
  // With the token the request gets through to the board API (no such board).
  expect((await fetch(`${url}/api/boards/nope`, { headers: { authorization: 'Bearer tok-123' } })).status).toBe(404);
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
});
