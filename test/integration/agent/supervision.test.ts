/**
 * Process supervision with real processes: cancellation, the silence watchdog, the pid fence, and that no
 * process of a run (grandchildren included) outlives it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  AgentCancelledError,
  AgentExitError,
  AgentHungError,
  demoAgentAdapter,
  killAllAgentProcessGroups,
  runAgent,
  runAgentProcess,
  type AgentEvent,
} from '../../../src/plugins/agent';
import { writePidFence } from '../../../src/plugins/agent/pid-fence';
import { isGroupAlive } from '../../../src/plugins/agent/process-group';
import { exists, makeSandbox, makeTask, readPid, waitUntilGone, type Sandbox } from './helpers';

let sandbox: Sandbox;
beforeEach(() => {
  sandbox = makeSandbox();
});
afterEach(() => sandbox.remove());

interface DemoRun {
  result: Promise<unknown>;
  events: AgentEvent[];
  controller: AbortController;
  /** The agent's process group, read from the pid file at its first event. */
  pgid: () => number;
}

function startDemo(body: string, silenceTimeoutMs: number, onEvent: (event: AgentEvent, run: DemoRun) => void = () => {}): DemoRun {
  const controller = new AbortController();
  const events: AgentEvent[] = [];
  let pgid: number | undefined;
  const run: DemoRun = {
    events,
    controller,
    pgid: () => {
      if (pgid === undefined) throw new Error('the agent printed nothing');
      return pgid;
    },
    result: Promise.resolve(),
  };
  run.result = runAgent({
    adapter: demoAgentAdapter(),
    task: makeTask(sandbox, { body }),
    runDir: sandbox.runDir,
    pidFile: sandbox.pidFile,
    signal: controller.signal,
    silenceTimeoutMs,
    killGraceMs: 500,
    // Unsandboxed on purpose: these tests follow the agent's own pids, which a PID namespace would renumber.
    sandbox: { mode: 'none' },
    onEvent: (event) => {
      pgid ??= readPid(sandbox.pidFile);
      events.push(event);
      onEvent(event, run);
    },
  });
  return run;
}

test('abort mid-run stops the agent and its grandchild', async () => {
  const started = Date.now();
  const run = startDemo('ouija-demo: spawn-child sleep=20000 heartbeat=100', 5000, (event, r) => {
    if (event.type === 'heartbeat') r.controller.abort();
  });
  await expect(run.result).rejects.toBeInstanceOf(AgentCancelledError);
  expect(Date.now() - started).toBeLessThan(5000);

  const grandchild = readPid(join(sandbox.runDir, 'child.pid'));
  expect(grandchild).not.toBe(run.pgid());
  expect(exists(run.pgid())).toBe(false); // the leader is our child: reaped already
  expect(isGroupAlive(run.pgid())).toBe(false);
  await waitUntilGone(grandchild);
  expect(existsSync(sandbox.pidFile)).toBe(false);
});

test('a grandchild left behind by an agent that exits normally is killed too', async () => {
  await startDemo('ouija-demo: spawn-child no-change', 5000).result;
  await waitUntilGone(readPid(join(sandbox.runDir, 'child.pid')));
});

test('a hung agent is killed after silenceTimeoutMs and fails with AgentHungError', async () => {
  const started = Date.now();
  const run = startDemo('ouija-demo: hang', 400);
  await expect(run.result).rejects.toBeInstanceOf(AgentHungError);
  expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  expect(Date.now() - started).toBeLessThan(3000);
  expect(isGroupAlive(run.pgid())).toBe(false);
  expect(exists(run.pgid())).toBe(false);
});

test('a SIGSTOPped agent is detected as hung and killed', async () => {
  let stopped = false;
  const run = startDemo('ouija-demo: sleep=10000 heartbeat=100', 500, (event, r) => {
    if (event.type === 'heartbeat' && !stopped) {
      stopped = true;
      process.kill(-r.pgid(), 'SIGSTOP');
    }
  });
  await expect(run.result).rejects.toBeInstanceOf(AgentHungError);
  expect(stopped).toBe(true);
  expect(isGroupAlive(run.pgid())).toBe(false);
});

test('a slow agent that keeps printing is never killed', async () => {
  const run = startDemo('ouija-demo: sleep=3000 heartbeat=200', 1000);
  await expect(run.result).resolves.toMatchObject({ exitCode: 0, summary: expect.stringMatching(/committed/) });
  expect(run.events.filter((e) => e.type === 'heartbeat').length).toBeGreaterThanOrEqual(10);
});

/** A leftover attempt: its own process group, with a child of its own. */
async function startLeftoverGroup(): Promise<number> {
  const script = "require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' }); setInterval(() => {}, 1e6)";
  const leftover = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(isGroupAlive(leftover.pid!)).toBe(true);
  return leftover.pid!;
}

test('the pid fence kills a leftover process group before the new run starts', async () => {
  const pgid = await startLeftoverGroup();
  writePidFence(sandbox.pidFile, pgid);

  let leftoverAliveAtFirstEvent: boolean | undefined;
  const run = startDemo('ouija-demo: no-change', 5000, () => {
    leftoverAliveAtFirstEvent ??= isGroupAlive(pgid);
  });
  await run.result;
  expect(leftoverAliveAtFirstEvent).toBe(false);
  expect(run.pgid()).not.toBe(pgid);
  await waitUntilGone(pgid);
  expect(existsSync(sandbox.pidFile)).toBe(false);
});

test('a pid file written before a reboot is not trusted (its group ID may belong to someone else now)', async () => {
  const pgid = await startLeftoverGroup();
  try {
    mkdirSync(dirname(sandbox.pidFile), { recursive: true });
    writeFileSync(sandbox.pidFile, `${pgid} 00000000-0000-0000-0000-000000000000\n`);
    await startDemo('ouija-demo: no-change', 5000).result;
    expect(isGroupAlive(pgid)).toBe(true);
    expect(existsSync(sandbox.pidFile)).toBe(false);
  } finally {
    process.kill(-pgid, 'SIGKILL');
  }
});

test('killAllAgentProcessGroups kills running agents (worker shutdown)', async () => {
  let killed: number[] = [];
  const run = startDemo('ouija-demo: sleep=10000 heartbeat=100', 5000, (event) => {
    if (event.type === 'heartbeat' && killed.length === 0) killed = killAllAgentProcessGroups();
  });
  const error = (await run.result.catch((e: unknown) => e)) as AgentExitError;
  expect(error).toBeInstanceOf(AgentExitError);
  expect(error.signal).toBe('SIGKILL');
  expect(killed).toEqual([run.pgid()]);
  expect(killAllAgentProcessGroups()).toEqual([]);
});

describe('runAgentProcess', () => {
  const base = () => ({
    cwd: sandbox.worktree,
    env: { PATH: process.env.PATH ?? '' },
    pidFile: sandbox.pidFile,
    silenceTimeoutMs: 5000,
  });

  test('an agent that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const result = runAgentProcess({
      ...base(),
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => console.log('not stopping')); console.log('ready'); setInterval(() => {}, 1e6)"],
      signal: controller.signal,
      killGraceMs: 300,
      onLine: (line) => {
        if (line === 'ready') controller.abort();
      },
    });
    await expect(result).rejects.toBeInstanceOf(AgentCancelledError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('a throwing onLine stops the run with its error and kills the group', async () => {
    const lines: string[] = [];
    const result = runAgentProcess({
      ...base(),
      command: process.execPath,
      args: ['-e', "setInterval(() => console.log('tick'), 50)"],
      signal: new AbortController().signal,
      onLine: (line) => {
        lines.push(line);
        if (lines.length === 2) throw new Error('consumer failed');
      },
    });
    await expect(result).rejects.toThrow('consumer failed');
    expect(lines).toHaveLength(2);
  });

  test('a missing program rejects with ENOENT and leaves no pid file', async () => {
    const result = runAgentProcess({
      ...base(),
      command: join(sandbox.root, 'no-such-agent'),
      args: [],
      signal: new AbortController().signal,
      onLine: () => {},
    });
    await expect(result).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(sandbox.pidFile)).toBe(false);
  });

  test('an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const lines: string[] = [];
    const result = runAgentProcess({
      ...base(),
      command: process.execPath,
      args: ['-e', "console.log('started')"],
      signal: controller.signal,
      onLine: (line) => lines.push(line),
    });
    await expect(result).rejects.toBeInstanceOf(AgentCancelledError);
    expect(lines).toEqual([]);
  });
});
