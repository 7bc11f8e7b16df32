/**
 * src/processes.ts, with real processes: stop() takes down the whole group (a forked child too), SIGKILLs a leader
 * that ignores SIGTERM once the grace is over, and kill() is immediate. What the cluster's and the dev server's
 * launchers rely on for "no leftover servers".
 */
import { spawnGroup, type GroupProcess } from '../../../src/processes';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A node leader that forks a child into its group, prints the child's pid, and (optionally) ignores SIGTERM. */
async function leaderWithChild(ignoreTerm: boolean): Promise<{ proc: GroupProcess; childPid: number }> {
  const code = [
    ignoreTerm ? "process.on('SIGTERM', () => {});" : '',
    "const c = require('node:child_process').spawn(process.execPath, ['-e', \"process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)\"], { stdio: 'ignore' });",
    "console.log('child ' + c.pid);",
    'setInterval(() => {}, 1000);',
  ].join('\n');
  let resolveChild: (pid: number) => void;
  const childPid = new Promise<number>((resolve) => (resolveChild = resolve));
  const proc = await spawnGroup(process.execPath, ['-e', code], {
    name: 'test-leader',
    onLine: (line) => {
      const m = /^child (\d+)$/.exec(line);
      if (m) resolveChild(Number(m[1]));
    },
  });
  return { proc, childPid: await childPid };
}

const started: GroupProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill()));
});

test('stop(): SIGTERM to the group; a member that ignores it is killed after the grace, with the leader', async () => {
  const { proc, childPid } = await leaderWithChild(false);
  started.push(proc);
  expect(alive(proc.pid) && alive(childPid)).toBe(true);
  await proc.stop({ graceMs: 300 });
  expect(proc.exit()).toEqual({ code: null, signal: 'SIGTERM' });
  expect(alive(childPid)).toBe(false); // it ignored SIGTERM: the group's SIGKILL after the grace took it
});

test('stop(): a leader that ignores SIGTERM is SIGKILLed when the grace is over; kill() at once', async () => {
  const stubborn = await leaderWithChild(true);
  started.push(stubborn.proc);
  await stubborn.proc.stop({ graceMs: 300 });
  expect(stubborn.proc.exit()).toEqual({ code: null, signal: 'SIGKILL' });
  expect(alive(stubborn.childPid)).toBe(false);

  const crashed = await leaderWithChild(true);
  started.push(crashed.proc);
  await crashed.proc.kill();
  expect(crashed.proc.exit()?.signal).toBe('SIGKILL');
  expect(alive(crashed.childPid)).toBe(false);
  await crashed.proc.stop(); // after a kill: resolves, nothing left to do
});
