/**
 * An agent dies with the worker that started it. Without this, a SIGKILLed worker leaves its agent running
 * unsupervised — editing the worktree, maybe finishing — until the step's retry kills it through the pid fence
 * (reliability scenario 7 saw such orphans finish their work before the retry ran the agent again).
 *
 * Linux: util-linux's `setpriv --pdeathsig KILL -- <agent>` sets PR_SET_PDEATHSIG and execs the agent, so the
 * pid, the process group and the pid fence are the agent's own. The signal follows the thread that spawned the
 * agent, which in Node is the main thread: it lives as long as the worker. Elsewhere (or without setpriv) the
 * fence alone stands. A program that cannot be found is not wrapped, so spawning it still fails with ENOENT.
 */
import { findOnPath, isExecutable } from '../../executables';

const SETPRIV = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find(isExecutable) : undefined;

/** Whether `command` names a program that spawn would find (a path, or a name on `PATH`). */
function findable(command: string, pathVariable: string | undefined): boolean {
  return command.includes('/') ? isExecutable(command) : findOnPath(command, pathVariable ?? '') !== null;
}

export function dieWithParent(command: string, args: string[], pathVariable: string | undefined): { command: string; args: string[] } {
  if (SETPRIV === undefined || !findable(command, pathVariable)) return { command, args };
  return { command: SETPRIV, args: ['--pdeathsig', 'KILL', '--', command, ...args] };
}
