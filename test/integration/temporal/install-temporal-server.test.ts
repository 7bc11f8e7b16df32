/**
 * scripts/install-temporal-server.sh and ensureTemporalServer() without building anything: a complete install in
 * the cache is reused (no Go needed), an incomplete or outdated one is not, and a missing or too old Go is a clear
 * error. The build itself runs in CI's "temporal server" stage and in the `cluster` project's global setup.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalServer, findTemporalServer, temporalServerVersions } from '../../../src/temporal/server-install';

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'scripts/install-temporal-server.sh');
const versions = temporalServerVersions(ROOT);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-install-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What a finished install looks like, with stand-ins for the binaries. */
function fakeInstall(cacheRoot: string, stamp = `server=${versions.server} ui=${versions.ui}`): string {
  const install = path.join(cacheRoot, `temporal-server-${versions.server}`);
  for (const db of ['temporal', 'visibility']) fs.mkdirSync(path.join(install, 'schema/postgresql/v12', db, 'versioned'), { recursive: true });
  fs.mkdirSync(path.join(install, 'bin'));
  for (const bin of ['temporal-server', 'temporal-sql-tool', 'temporal-ui-server']) fs.writeFileSync(path.join(install, 'bin', bin), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(install, 'VERSIONS'), `${stamp}\n`);
  return install;
}

/** The script with no Go anywhere it looks (or only `extraPath`'s), and this cache root. */
async function runScript(cacheRoot: string, extraPath = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('bash', [SCRIPT], {
      env: { PATH: `${extraPath ? `${extraPath}:` : ''}/usr/bin:/bin`, HOME: dir, OUIJA_CACHE_DIR: cacheRoot, OUIJA_GO_DIRS: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('a complete install in the cache is reused as it is: the last line is its directory, and no Go is needed', async () => {
  const install = fakeInstall(path.join(dir, 'cache'));
  const r = await runScript(path.join(dir, 'cache'));
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n').pop()).toBe(install);
});

test('an install of another UI version, or with a binary missing, is not reused: without Go that is a clear error', async () => {
  const outdated = fakeInstall(path.join(dir, 'a'), `server=${versions.server} ui=0.0.1`);
  const incomplete = fakeInstall(path.join(dir, 'b'));
  fs.rmSync(path.join(incomplete, 'bin/temporal-ui-server'));
  for (const root of [path.dirname(outdated), path.dirname(incomplete)]) {
    const r = await runScript(root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/go not found on PATH.*install Go 1\.21 or newer/);
  }
});

test('a Go too old to fetch the toolchain the server needs is refused before anything is built', async () => {
  const bin = path.join(dir, 'old-go');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'go'), '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8 && exit 0\nexit 3\n', { mode: 0o755 });
  const r = await runScript(path.join(dir, 'cache'), bin);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('go1.19.8; building the Temporal server needs Go 1.21 or newer');
  expect(fs.readdirSync(path.join(dir, 'cache')).filter((f) => !f.endsWith('.lock'))).toEqual([]);
});

test('ensureTemporalServer() finds the cached install, or says how to get Go when it must build', async () => {
  process.env.OUIJA_CACHE_DIR = path.join(dir, 'cache');
  const install = fakeInstall(path.join(dir, 'cache'));
  expect(findTemporalServer()?.server).toBe(path.join(install, 'bin/temporal-server'));
  expect((await ensureTemporalServer()).dir).toBe(install);

  process.env.OUIJA_CACHE_DIR = path.join(dir, 'empty');
  process.env.PATH = '/usr/bin:/bin';
  process.env.OUIJA_GO_DIRS = '';
  expect(findTemporalServer()).toBeNull();
  await expect(ensureTemporalServer()).rejects.toThrow(/Could not build the Temporal server[\s\S]*go not found[\s\S]*Install Go 1\.21 or newer/);
});
