/** The `command` adapter: any program that speaks Ouija's agent protocol (docs/AGENT-PROTOCOL.md). */
import type { AgentAdapter } from './adapter';
import { parseAgentLine } from './protocol';

export interface CommandAdapterConfig {
  command: string;
  args?: string[];
}

export function commandAdapter(config: CommandAdapterConfig): AgentAdapter {
  const args = [...(config.args ?? [])];
  return {
    name: 'command',
    // A warm session reaches the program as OUIJA_SESSION_DIR / OUIJA_SESSION_ID / OUIJA_SESSION_TASK.
    supportsWarmSession: true,
    // The task reaches the program through OUIJA_TASK_FILE, so the arguments are fixed config.
    invocation: () => ({ command: config.command, args: [...args] }),
    parse: (line) => [parseAgentLine(line)],
  };
}
