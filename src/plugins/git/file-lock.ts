/**
 * A lock shared by every process on this host, for the mirrors two `ouija worker` processes with one data
 * directory would otherwise run git on at once. util-linux's `flock <file> cat` holds an flock(2) lock for us:
 * `cat` starts only once the lock is ours and echoes the line written to it, which is how we know; closing its
 * stdin ends it and so releases the lock. The kernel releases an flock with the last descriptor of its open
 * file, so a holder whose process was SIGKILLed blocks nobody: its pipe closes, `cat` and `flock` exit, the next
 * waiter has the lock at once. No stale-lock timeouts, no heartbeat that a stalled event loop could miss (the
 * compromise mode of mkdir/mtime locks such as proper-lockfile, whose lock is taken over after `stale` ms).
 *
 * Linux only (setpriv and flock are both util-linux; Debian's util-linux is essential). Elsewhere, or without
 * flock(1), the lock is this process's alone and a warning says so once.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutable } from '../../executables';
import { log } from '../../log';

const FLOCK = process.platform === 'linux' ? ['/usr/bin/flock', '/bin/flock'].find(isExecutable) : undefined;
const CAT = findOnPath('cat') ?? '/bin/cat';

let warned = false;

/** Waits for the exclusive lock on `file` (created if missing) and returns its release. */
export async function acquireFileLock(file: string): Promise<() => void> {
  if (FLOCK === undefined) {
    if (!warned) log.warn({ file }, 'flock(1) (util-linux) not found: mirror locks hold only within this process');
    warned = true;
    return () => undefined;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  const holder = spawn(FLOCK, ['--exclusive', '--', file, CAT], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let released = false;
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('error', reject);
    holder.once('exit', (code, signal) => {
      if (!released) reject(new Error(`flock on ${file} ended before it held the lock (${signal ?? code}): ${stderr.trim()}`));
    });
    // Buffered in the pipe until `cat` runs, that is, until the lock is ours.
    holder.stdin.write('locked\n');
  });
  holder.once('exit', (code, signal) => {
    if (!released) log.error({ file, code, signal }, 'the holder of a file lock died while the lock was in use');
  });
  return () => {
    released = true;
    holder.stdin.end();
  };
}

/** Runs `operation` holding the lock on `file`. */
export async function withFileLock<T>(file: string, operation: () => Promise<T>): Promise<T> {
  const release = await acquireFileLock(file);
  try {
    return await operation();
  } finally {
    release();
  }
}
