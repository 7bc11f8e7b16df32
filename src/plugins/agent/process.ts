/**
 * Runs one agent as a real child process and guarantees that when the returned promise settles, no process
 * of that run is left: the agent leads its own process group, and every way out (exit, abort, silence,
 * a failing callback) ends with the whole group killed and waited for.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { log } from '../../log';
import { AgentCancelledError, AgentHungError } from './errors';
import { dieWithParent } from './parent-death';
import { clearPidFence, releasePidFence, writePidFence } from './pid-fence';
import { signalGroup, waitForGroupExit } from './process-group';

export { AgentCancelledError, AgentExitError, AgentHungError } from './errors';

export type AgentStream = 'stdout' | 'stderr';

export interface AgentProcessOptions {
  command: string;
  /** Passed to the program as is: there is no shell in between. */
  args: string[];
  cwd: string;
  /** The complete environment (see agentEnvironment): nothing is inherited from this process. */
  env: Record<string, string>;
  /** Per-card pid file: the fence that keeps a card to one agent process group (see pid-fence.ts). */
  pidFile: string;
  signal: AbortSignal;
  /** Output on either stream within this window is a sign of life; a silent agent is killed as hung. */
  silenceTimeoutMs: number;
  /** Time between SIGTERM and SIGKILL when cancelled (default 2000). */
  killGraceMs?: number;
  /** Each output line, as it arrives. If it throws, the run is stopped and fails with that error. */
  onLine(line: string, stream: AgentStream): void;
}

export interface AgentProcessResult {
  exitCode: number | null;
  signal: string | null;
  /** The last few kB of stderr, for error messages. */
  stderrTail: string;
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** How long a group may take to die after SIGKILL before we give up waiting (beyond the grace period). */
const STOP_TIMEOUT_MS = 10_000;
/** Output still buffered in the pipes once the group is gone; a pipe held open by an escaped process is cut. */
const DRAIN_TIMEOUT_MS = 1000;
const STDERR_TAIL_CHARS = 4000;

/** Process groups of agents running in this worker, for `killAllAgentProcessGroups` at shutdown. */
const liveGroups = new Set<number>();

/** Signal every agent process group this worker is running; returns the group IDs signalled. */
export function killAllAgentProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number[] {
  return [...liveGroups].filter((pgid) => signalQuietly(pgid, signal));
}

function signalQuietly(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    return signalGroup(pgid, signal);
  } catch (error) {
    log.warn({ err: error, pgid, signal }, 'could not signal agent process group');
    return false;
  }
}

export async function runAgentProcess(options: AgentProcessOptions): Promise<AgentProcessResult> {
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  await clearPidFence(options.pidFile, STOP_TIMEOUT_MS);
  if (options.signal.aborted) throw new AgentCancelledError();
  const launch = dieWithParent(options.command, options.args, options.env.PATH);
  const child = spawn(launch.command, launch.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // setsid(): the agent leads a new process group, so its descendants can be signalled with it
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    const [error] = (await once(child, 'error')) as [Error];
    throw error;
  }
  return supervise(child, child.pid, options, killGraceMs);
}

type StopReason = { kind: 'cancelled' } | { kind: 'hung' } | { kind: 'failed'; error: unknown };

function supervise(
  child: ChildProcessByStdio<null, Readable, Readable>,
  pgid: number,
  options: AgentProcessOptions,
  killGraceMs: number,
): Promise<AgentProcessResult> {
  return new Promise((resolve, reject) => {
    liveGroups.add(pgid);
    const stderrTail = new TailBuffer(STDERR_TAIL_CHARS);
    let stopReason: StopReason | null = null;
    let exited = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const silenceTimer = setTimeout(() => stop({ kind: 'hung' }), options.silenceTimeoutMs);

    function stop(reason: StopReason): void {
      if (stopReason || exited) return;
      stopReason = reason;
      clearTimeout(silenceTimer);
      if (reason.kind === 'cancelled') {
        // A cancelled agent may be mid-write in the worktree: let it stop cleanly first.
        signalQuietly(pgid, 'SIGTERM');
        graceTimer = setTimeout(() => signalQuietly(pgid, 'SIGKILL'), killGraceMs);
      } else {
        signalQuietly(pgid, 'SIGKILL');
      }
    }
    const onAbort = (): void => stop({ kind: 'cancelled' });
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => log.warn({ err: error, pgid }, 'agent process error'));

    const readers = (['stdout', 'stderr'] as const).map((name) => {
      const stream = child[name];
      // Any bytes count as life (a progress bar without newlines too), not only complete lines.
      stream.on('data', () => {
        if (!stopReason && !exited) silenceTimer.refresh();
      });
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (name === 'stderr') stderrTail.push(line);
        if (stopReason?.kind === 'failed') return;
        try {
          options.onLine(line, name);
        } catch (error) {
          stop({ kind: 'failed', error });
        }
      });
      return { stream, closed: once(lines, 'close') };
    });

    try {
      writePidFence(options.pidFile, pgid);
    } catch (error) {
      stop({ kind: 'failed', error });
    }

    child.once('exit', (exitCode, signal) => {
      exited = true;
      clearTimeout(silenceTimer);
      void finish(exitCode, signal);
    });

    async function finish(exitCode: number | null, signal: string | null): Promise<void> {
      try {
        // The leader is gone; whatever it left running in its group goes too (a cancelled group keeps its
        // grace period, after which the grace timer kills the rest).
        if (stopReason?.kind !== 'cancelled') signalQuietly(pgid, 'SIGKILL');
        await waitForGroupExit(pgid, killGraceMs + STOP_TIMEOUT_MS);
      } catch (error) {
        // Still alive: keep it registered and fenced, so shutdown and the next attempt can kill it.
        options.signal.removeEventListener('abort', onAbort);
        reject(error);
        return;
      }
      clearTimeout(graceTimer);
      options.signal.removeEventListener('abort', onAbort);
      liveGroups.delete(pgid);
      releasePidFence(options.pidFile, pgid);
      await drain(readers);

      const reason = stopReason as StopReason | null;
      if (reason?.kind === 'hung') reject(new AgentHungError(options.silenceTimeoutMs));
      else if (reason?.kind === 'cancelled') reject(new AgentCancelledError());
      else if (reason?.kind === 'failed') reject(reason.error);
      else resolve({ exitCode, signal, stderrTail: stderrTail.text() });
    }
  });
}

/** Wait for the last buffered lines, but not for a pipe some escaped process still holds open. */
async function drain(readers: { stream: Readable; closed: Promise<unknown> }[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
  });
  await Promise.race([Promise.all(readers.map((reader) => reader.closed)), timeout]);
  clearTimeout(timer);
  for (const reader of readers) reader.stream.destroy();
}

/** The last `max` characters of a stream of lines. */
class TailBuffer {
  private lines: string[] = [];
  private size = 0;
  constructor(private readonly max: number) {}

  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    while (this.size > this.max && this.lines.length > 1) this.size -= this.lines.shift()!.length + 1;
  }

  text(): string {
    return this.lines.join('\n').slice(-this.max);
  }
}
