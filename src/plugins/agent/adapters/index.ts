/**
 * The adapter registry: an agent profile from ouija.config.json → the adapter that starts and reads its CLI.
 * One file per CLI in this folder; `command` and `demo` speak Ouija's own NDJSON protocol.
 */
import { ConfigError, type ADAPTER_NAMES, type AgentProfile } from '../../../config';
import type { AgentAdapter } from '../adapter';
import { commandAdapter } from '../command-adapter';
import { demoAgentCommand } from '../demo';
import { aiderAdapter } from './aider';
import { claudeCodeAdapter } from './claude-code';
import { codexAdapter } from './codex';
import { geminiAdapter } from './gemini';

type AdapterName = (typeof ADAPTER_NAMES)[number];
type AdapterFactory = (profile: AgentProfile) => AgentAdapter;

const factories: Partial<Record<AdapterName, AdapterFactory>> = {
  demo: (profile) => {
    const demo = demoAgentCommand();
    return { ...commandAdapter({ command: demo.command, args: [...demo.args, ...profile.args] }), name: 'demo' };
  },
  command: (profile) => {
    if (!profile.command) throw new ConfigError('the "command" adapter needs "command": the program to start');
    return commandAdapter({ command: profile.command, args: profile.args });
  },
  'claude-code': claudeCodeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  aider: aiderAdapter,
};

export function createAdapter(profile: AgentProfile): AgentAdapter {
  const name: AdapterName = profile.adapter ?? (profile.command ? 'command' : 'demo');
  const factory = factories[name];
  if (!factory) throw new ConfigError(`agent adapter "${name}" is not available in this build`);
  return factory(profile);
}
