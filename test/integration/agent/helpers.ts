/** A throwaway git repository, run directory and pid file for agent tests, plus process probes. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentTask } from '../../../src/plugins/agent';

export interface Sandbox {
  root: string;
  worktree: string;
  runDir: string;
  pidFile: string;
  remove(): void;
}

export function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'ouija-agent-test-'));
  const worktree = join(root, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', worktree]);
  git(worktree, ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '--allow-empty', '-m', 'init']);
  return {
    root,
    worktree,
    runDir: join(root, 'run'),
    pidFile: join(root, 'pids', 'card.pid'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function makeTask(sandbox: Sandbox, overrides: Partial<AgentTask> = {}): AgentTask {
  return {
    cardKey: 'builtin:demo:42',
    title: 'Add a greeting',
    body: 'Please add a greeting.',
    step: 'implement',
    stepIndex: 0,
    round: 0,
    feedback: [],
    branch: 'ouija/42-add-a-greeting-0000abcd',
    worktree: sandbox.worktree,
    ...overrides,
  };
}

/** The first number in a pid file (the demo's child.pid, or the fence's `<pgid> <boot id>`). */
export function readPid(file: string): number {
  return Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
}

/** `kill(pid, 0)`: true while the process exists (zombies included, as the brief's check has it). */
export function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Until `kill(pid, 0)` fails with ESRCH. Orphaned grandchildren become zombies of PID 1, and some inits (this
 * sandbox's among them) reap only every couple of seconds, hence the generous default.
 */
export async function waitUntilGone(pid: number, timeoutMs = 6000): Promise<number> {
  const started = Date.now();
  while (exists(pid)) {
    if (Date.now() - started > timeoutMs) throw new Error(`process ${pid} still exists after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - started;
}
