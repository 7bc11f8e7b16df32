/**
 * One agent step, end to end: task file, environment, process, events, outcome. The activity around it adds
 * Temporal heartbeats and cancellation; everything here works without Temporal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentAdapter } from './adapter';
import { agentEnvironment } from './environment';
import { AgentExitError } from './errors';
import { runAgentProcess } from './process';
import { parseAgentLine, type AgentEvent, type AgentTask, type AgentTokens } from './protocol';
import { sandboxedInvocation, type SandboxSettings } from './sandbox';
import type { WarmSessionHandle } from './session';

export interface RunAgentOptions {
  adapter: AgentAdapter;
  task: AgentTask;
  /**
   * Per-run scratch directory, outside the worktree so nothing in it is ever committed: the task file, and
   * the agent's HOME and TMPDIR.
   */
  runDir: string;
  pidFile: string;
  /** Kept for the card across attempts (see InvocationContext.stateDir). Default: `<runDir>/state`. */
  stateDir?: string;
  /** Continue this CLI session (a retry after a crash), when the adapter supports it. */
  resumeSessionId?: string;
  /** The card's warm session (see session.ts), when the profile keeps one and the adapter supports it. */
  session?: WarmSessionHandle;
  signal: AbortSignal;
  silenceTimeoutMs: number;
  killGraceMs?: number;
  /** From config: variable names to copy from this process's environment, and literal values. */
  passEnv?: string[];
  env?: Record<string, string>;
  /**
   * The OS sandbox (see sandbox.ts). Required, so that no caller runs an agent unsandboxed by leaving it out:
   * `{ mode: 'none' }` says so in so many words.
   */
  sandbox: SandboxSettings;
  /** Protocol events from stdout, in order. */
  onEvent(event: AgentEvent): void;
  /** Raw stderr lines (diagnostics; they also count as signs of life). */
  onStderr?(line: string): void;
}

export interface AgentOutcome {
  exitCode: number;
  /** From the last result event; empty when the agent printed none. */
  summary: string;
  tokens?: AgentTokens;
  costUsd?: number;
  sessionId?: string;
  /** How many events the agent produced. */
  events: number;
}

export async function runAgent(options: RunAgentOptions): Promise<AgentOutcome> {
  const { adapter, task, runDir } = options;
  const home = join(runDir, 'home');
  const tmpDir = join(runDir, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmpDir, { recursive: true });
  const taskFile = join(runDir, 'task.json');
  writeFileSync(taskFile, `${JSON.stringify(task, null, 2)}\n`, { mode: 0o600 });

  const stateDir = options.stateDir ?? join(runDir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const resumeSessionId = adapter.supportsResume ? options.resumeSessionId : undefined;
  // An adapter that cannot keep a warm session runs cold: a fresh session per task can never bleed.
  const warm = adapter.supportsWarmSession ? options.session : undefined;
  const { command, args, env: adapterEnv } = adapter.invocation(task, { taskFile, runDir, stateDir, ...(resumeSessionId ? { resumeSessionId } : {}), ...(warm ? { session: warm } : {}) });
  const sessionEnv: Record<string, string> = warm
    ? { OUIJA_SESSION_DIR: warm.dir, OUIJA_SESSION_ID: warm.id, OUIJA_SESSION_TASK: String(warm.taskInSession) }
    : {};
  const env = agentEnvironment({
    passEnv: options.passEnv,
    env: { ...adapterEnv, ...options.env },
    home,
    tmpDir,
    extra: { OUIJA_TASK_FILE: taskFile, OUIJA_RUN_DIR: runDir, ...sessionEnv },
  });

  // Under a sandbox the agent writes only its worktree (cwd), this run's directory, the card's state and its
  // own warm session (not the card's other sessions).
  const writable = [runDir, stateDir, ...(warm ? [warm.dir] : [])];
  const launch = await sandboxedInvocation(options.sandbox, { command, args }, { cwd: task.worktree, writable, pathVariable: env.PATH });

  let events = 0;
  let result: Extract<AgentEvent, { type: 'result' }> | undefined;
  let session: string | undefined;
  const onStdout = (line: string): void => {
    for (const event of parseSafely(adapter, line)) {
      events++;
      if (event.type === 'result') result = event;
      if (event.type === 'session') session = event.sessionId;
      options.onEvent(event);
    }
  };

  const exit = await runAgentProcess({
    command: launch.command,
    args: launch.args,
    cwd: task.worktree,
    env,
    pidFile: options.pidFile,
    signal: options.signal,
    silenceTimeoutMs: options.silenceTimeoutMs,
    killGraceMs: options.killGraceMs,
    onLine: (line, stream) => (stream === 'stdout' ? onStdout(line) : options.onStderr?.(line)),
  });
  // A CLI that exits non-zero may still have said why in its result line (Claude Code does, on provider errors).
  if (exit.exitCode !== 0) throw new AgentExitError(exit.exitCode, exit.signal, result?.isError ? `${result.summary}\n${exit.stderrTail}`.trim().slice(0, 2000) : exit.stderrTail);
  if (result?.isError) throw new AgentExitError(0, null, `the agent reported an error: ${result.summary}`.slice(0, 2000));

  const outcome: AgentOutcome = { exitCode: 0, summary: result?.summary ?? '', events };
  if (result?.tokens) outcome.tokens = result.tokens;
  if (result?.costUsd !== undefined) outcome.costUsd = result.costUsd;
  const sessionId = result?.sessionId ?? session;
  if (sessionId !== undefined) outcome.sessionId = sessionId;
  return outcome;
}

/** An adapter bug must not kill a working agent: its line falls back to the plain protocol reading. */
function parseSafely(adapter: AgentAdapter, line: string): AgentEvent[] {
  try {
    return adapter.parse(line);
  } catch {
    return [parseAgentLine(line)];
  }
}
