/**
 * The pid fence (invariant 3: at most one agent process per card). Each run records its process group in a
 * per-card pid file and removes it when the group is gone. A file that is still there names a group whose
 * worker died or whose attempt timed out; before a new attempt starts, that group is killed and waited for.
 *
 * File format: `<group ID> <boot ID>\n`. The boot ID (Linux's /proc/sys/kernel/random/boot_id; empty
 * elsewhere) makes a file written before a reboot harmless: its group died with the machine, and its ID may
 * since have been given to an unrelated process.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { log } from '../../log';
import { isGroupAlive, killGroup, ownGroupId } from './process-group';

let cachedBootId: string | undefined;
function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}

/** The group a pid file names, if it is one this machine could still be running. */
function readPgid(pidFile: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const [id = '', boot = ''] = text.trim().split(/\s+/);
  const pgid = Number(id);
  // 0 and 1 would make kill(-pgid) mean "my own group" or "everyone": never trust such a file.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return null;
  return boot === bootId() ? pgid : null;
}

/** Kill the group a leftover pid file names, if it is still alive, and wait until it is gone. */
export async function clearPidFence(pidFile: string, timeoutMs: number): Promise<void> {
  const pgid = readPgid(pidFile);
  // Our own group can only be named by a stale file whose ID was reused: killing it would kill the worker.
  if (pgid !== null && pgid !== ownGroupId()) {
    try {
      if (isGroupAlive(pgid)) {
        log.warn({ pidFile, pgid }, 'killing a leftover agent process group before starting a new attempt');
        await killGroup(pgid, timeoutMs);
      }
    } catch (error) {
      // EPERM: the ID now belongs to another user's process, so it is not a leftover of ours.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    }
  }
  rmSync(pidFile, { force: true });
}

export function writePidFence(pidFile: string, pgid: number): void {
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${pgid} ${bootId()}\n`);
}

/** Remove the pid file only while it still names our group: a later attempt may have fenced us and written its own. */
export function releasePidFence(pidFile: string, pgid: number): void {
  if (readPgid(pidFile) === pgid) rmSync(pidFile, { force: true });
}
