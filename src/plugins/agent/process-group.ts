/**
 * Process groups: an agent runs as the leader of its own group (spawned detached), so its tools and any
 * background processes they start can be signalled and waited for as one unit.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** `kill(-pgid, signal)`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Whether any process of the group can still run. Members that are already zombies do not count: they are
 * dead, and once the leader is gone they wait for init to reap them, which some inits do only every few
 * seconds (or never, in a container without one).
 */
export function isGroupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  const members = liveMembersFromProc(pgid);
  return members === null || members > 0;
}

/** Count of non-zombie processes in the group, from /proc; null where /proc is not available. */
function liveMembersFromProc(pgid: number): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  let live = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live++;
  }
  return live;
}

/** This process's own group ID, from /proc; null where /proc is not available. */
export function ownGroupId(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

export class ProcessGroupStuckError extends Error {
  override name = 'ProcessGroupStuckError';
  constructor(readonly pgid: number, timeoutMs: number) {
    super(`process group ${pgid} was still alive ${timeoutMs} ms after it was told to stop`);
  }
}

const POLL_MS = 25;

/** Resolves once no process of the group can run; rejects with ProcessGroupStuckError after `timeoutMs`. */
export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isGroupAlive(pgid)) {
    if (Date.now() > deadline) throw new ProcessGroupStuckError(pgid, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** SIGKILL the whole group and wait until it is gone. */
export async function killGroup(pgid: number, timeoutMs: number): Promise<void> {
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, timeoutMs);
}
