/**
 * Locating the demo agent. demo-agent.js is plain JavaScript that tsc does not copy to dist/, so it is found
 * relative to the package root: the nearest ancestor of this module that holds it (src/ under ts-jest,
 * dist/src/ once compiled, the installed package's root for users).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentAdapter, AgentInvocation } from '../adapter';
import { commandAdapter } from '../command-adapter';

const SCRIPT = join('src', 'plugins', 'agent', 'demo', 'demo-agent.js');

export function demoAgentScript(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, SCRIPT);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${SCRIPT} above ${__dirname}`);
  }
}

/** The demo agent as a command: this Node binary running demo-agent.js. */
export function demoAgentCommand(): AgentInvocation {
  return { command: process.execPath, args: [demoAgentScript()] };
}

export function demoAgentAdapter(): AgentAdapter {
  return { ...commandAdapter(demoAgentCommand()), name: 'demo' };
}
