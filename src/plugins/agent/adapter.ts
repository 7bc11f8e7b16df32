/**
 * An adapter turns a task into a command line for one agent CLI and turns that CLI's output lines into
 * protocol events. Real CLIs (Claude Code, Codex, Gemini CLI, Aider) each get one; `command` serves any
 * program that already speaks Ouija's protocol.
 */
import type { AgentEvent, AgentTask } from './protocol';
import type { WarmSessionHandle } from './session';

export interface AgentInvocation {
  command: string;
  /** The argument list as the program receives it: never joined into a shell string. */
  args: string[];
  /**
   * Variables this CLI needs (config dirs, base URLs, sandbox flags), added to the allow-listed environment.
   * Never Ouija's own secrets: the environment builder refuses those names.
   */
  env?: Record<string, string>;
}

export interface InvocationContext {
  /** The task as JSON (also in `OUIJA_TASK_FILE`), for CLIs that read their prompt from a file. */
  taskFile: string;
  /** Scratch directory of this attempt (HOME and TMPDIR live here). */
  runDir: string;
  /** Directory kept for the card across attempts and steps: CLI session stores and config dirs go here. */
  stateDir: string;
  /** Set when a retried attempt should continue the session an earlier attempt started (after a crash). */
  resumeSessionId?: string;
  /**
   * The card's warm session (profile `session.warm`; see session.ts), for adapters with `supportsWarmSession`:
   * its directory (keep the CLI's session store there), its id and this task's index in it.
   */
  session?: WarmSessionHandle;
}

export interface AgentAdapter {
  name: string;
  /** Whether `invocation` honours `resumeSessionId` (the CLI can continue a session). */
  supportsResume?: boolean;
  /** Whether `invocation` honours `session` (continues the card's warm session; see session.ts). */
  supportsWarmSession?: boolean;
  invocation(task: AgentTask, ctx: InvocationContext): AgentInvocation;
  /** Events in one stdout line; none for lines that mean nothing. Should not throw (if it does, the line is progress text). */
  parse(line: string): AgentEvent[];
}
