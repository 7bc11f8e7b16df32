/**
 * An agent dies with its worker: a worker SIGKILLed mid-agent must not leave the agent working unsupervised
 * until the retry's pid fence finds it (src/plugins/agent/parent-death.ts). The worker here is a small process
 * (fixtures/agent-parent.ts) running one agent through runAgentProcess, as the agent activity does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isGroupAlive, signalGroup } from '../../../src/plugins/agent/process-group';
import { makeSandbox, readPid, type Sandbox } from './helpers';

const PARENT = path.join(__dirname, 'fixtures', 'agent-parent.ts');
let sandbox: Sandbox;
beforeEach(() => (sandbox = makeSandbox()));
afterEach(() => sandbox.remove());

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

const linuxWithSetpriv = process.platform === 'linux' && (existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv'));

test('the agent process group is gone within a second of its worker being SIGKILLed', async () => {
  // The condition is a fact of the machine, not a skip: without setpriv the pid fence alone stands (documented).
  expect(linuxWithSetpriv).toBe(true);
  const parent = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, PARENT, sandbox.pidFile, process.execPath, '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    expect(await until(() => existsSync(sandbox.pidFile), 20_000)).toBe(true);
    const pgid = readPid(sandbox.pidFile);
    expect(isGroupAlive(pgid)).toBe(true);
    // Alive while its worker lives.
    await new Promise((r) => setTimeout(r, 300));
    expect(isGroupAlive(pgid)).toBe(true);
    parent.kill('SIGKILL');
    const started = Date.now();
    expect(await until(() => !isGroupAlive(pgid), 1_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  } finally {
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    // Whatever outlived its worker (the failure this test looks for) is not left running.
    if (existsSync(sandbox.pidFile)) signalGroup(readPid(sandbox.pidFile), 'SIGKILL');
  }
});
