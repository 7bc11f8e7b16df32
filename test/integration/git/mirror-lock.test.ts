/**
 * The mirror's lock holds across processes: two real processes on one workspaces root (two `ouija worker`s on
 * one data directory) never hold a mirror's lock at the same time, and a holder that is SIGKILLed blocks the
 * other no longer than its death (src/plugins/git/file-lock.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const LOCKER = path.join(__dirname, 'fixtures', 'mirror-locker.ts');

let dir: string;
let root: string;
let mirror: string;
let log: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ouija-mirror-lock-'));
  root = path.join(dir, 'root');
  mirror = path.join(root, 'mirrors', '0123456789abcdef.git');
  log = path.join(dir, 'log');
  writeFileSync(log, '');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function locker(rounds: number, holdMs: number): ChildProcess {
  return spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, LOCKER, root, mirror, log, String(rounds), String(holdMs)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lines = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean);

test('two processes never hold one mirror lock at once', async () => {
  const [a, b] = [locker(6, 40), locker(6, 40)];
  expect(await Promise.all([exited(a), exited(b)])).toEqual([0, 0]);

  const seen = lines();
  expect(seen).toHaveLength(24);
  // Every start is followed by the end of the same process before anything else starts.
  for (let i = 0; i < seen.length; i += 2) {
    const [start, end] = [seen[i]!.split(' '), seen[i + 1]!.split(' ')];
    expect([start[0], end[0], end[1]]).toEqual(['start', 'end', start[1]]);
  }
  // Both did take turns (the lock is not just held by one until it is done by chance alone: both appear).
  expect(new Set(seen.map((line) => line.split(' ')[1])).size).toBe(2);
});

test('a holder that was SIGKILLed releases the lock with its death', async () => {
  const holder = locker(0, 0);
  await until(() => lines().some((line) => line.startsWith('held ')), 'the first process to hold the lock');
  const waiter = locker(1, 0);
  // The waiter is blocked behind the holder; nothing of it may appear before the holder is killed.
  await new Promise((r) => setTimeout(r, 500));
  writeFileSync(log, 'killed\n', { flag: 'a' });
  holder.kill('SIGKILL');
  await exited(holder);

  expect(await exited(waiter)).toBe(0);
  expect(lines()).toEqual([expect.stringMatching(/^held /), 'killed', `start ${waiter.pid}`, `end ${waiter.pid}`]);
});
