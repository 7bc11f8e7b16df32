/**
 * An adapter turns a task into a command line for one agent CLI and turns that CLI's output lines into
 * protocol events. Real CLIs (Claude Code, Codex, Gemini CLI, Aider) each get one; `command` serves any
 * program that already speaks Ouija's protocol.
 */
import type { AgentEvent, AgentTask } from './protocol';

export interface AgentInvocation {
  command: string;
  /** The argument list as the program receives it: never joined into a shell string. */
  args: string[];
}

export interface AgentAdapter {
  name: string;
  /** `taskFile` is the task as JSON (also in `OUIJA_TASK_FILE`), for CLIs that read their prompt from a file. */
  invocation(task: AgentTask, ctx: { taskFile: string }): AgentInvocation;
  /** Events in one stdout line; none for lines that mean nothing. Should not throw (if it does, the line is progress text). */
  parse(line: string): AgentEvent[];
}
