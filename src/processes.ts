/**
 * Long-running child processes that Ouija starts and must stop: each leads its own process group (so a stop
 * takes down whatever it forked, and a Ctrl-C aimed at Ouija reaches Ouija first, which then stops them in
 * order), its output is kept as a tail for error messages, and a process exit of Ouija kills the group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from './log';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** The last lines a process wrote, for error messages when it dies. */
export class OutputTail {
  private lines: string[] = [];
  constructor(private readonly max = 40) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

export function collectLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) onLine(line);
  });
}

/** Signals the whole process group `pid` leads; false when it is gone already. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal); // negative pid: the process group
    return true;
  } catch {
    return false; // ESRCH: already gone
  }
}

export interface GroupProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  tail: OutputTail;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  /** The exit, once it happened. */
  exit(): Exit | null;
  /**
   * `signal` (default SIGTERM) to the group, SIGKILL after `graceMs`; resolves once the leader has exited and the
   * group is gone. Idempotent.
   */
  stop(options?: { graceMs?: number; signal?: NodeJS.Signals }): Promise<void>;
  /** SIGKILL to the group at once (a crash, for reliability tests); resolves once the leader has exited. */
  kill(): Promise<void>;
}

export interface SpawnGroupOptions {
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  log?: Logger;
  /** Every output line, besides the tail. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Spawns `command` (never through a shell) as the leader of a new process group; resolves once it has spawned. */
export async function spawnGroup(command: string, args: string[], options: SpawnGroupOptions): Promise<GroupProcess> {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env, cwd: options.cwd });
  const tail = new OutputTail();
  for (const [stream, name] of [
    [child.stdout!, 'stdout'],
    [child.stderr!, 'stderr'],
  ] as const) {
    collectLines(stream, (line) => {
      tail.push(line);
      options.log?.debug({ process: options.name, stream: name }, line);
      options.onLine?.(line, name);
    });
  }
  let exitInfo: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve((exitInfo = { code, signal })));
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`, { cause: err })));
  });
  const pid = child.pid!;
  // If Ouija itself exits without stopping it, do not leave it behind.
  const killOnExit = () => signalGroup(pid, 'SIGKILL');
  process.on('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  /** The leader has exited; members of its group (a forked helper) may linger: give them the grace, then kill. */
  const reapGroup = async (graceMs: number) => {
    const untilGone = async (ms: number) => {
      const deadline = Date.now() + ms;
      while (signalGroup(pid, 0) && Date.now() < deadline) await sleep(50);
    };
    await untilGone(graceMs);
    if (signalGroup(pid, 'SIGKILL')) await untilGone(5_000);
  };

  let stopping: Promise<void> | null = null;
  const stop: GroupProcess['stop'] = ({ graceMs = 10_000, signal = 'SIGTERM' } = {}) =>
    (stopping ??= (async () => {
      if (!exitInfo) {
        signalGroup(pid, signal);
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, graceMs, 'timeout')));
        const outcome = await Promise.race([exited, grace]);
        clearTimeout(timer); // a pending grace timer would keep the process alive for its whole length
        if (outcome === 'timeout') {
          options.log?.warn({ process: options.name, pid, graceMs }, `${options.name} ignored ${signal}; killing it`);
          signalGroup(pid, 'SIGKILL');
          await exited;
        }
      }
      await reapGroup(graceMs);
    })());
  const kill = async () => {
    signalGroup(pid, 'SIGKILL');
    await exited;
    await reapGroup(5_000);
  };
  return { name: options.name, pid, child, tail, exited, exit: () => exitInfo, stop, kill };
}
