/**
 * Codex CLI (`codex exec --json`). Verified against the real CLI 0.171.0 (the offline checks described in docs/AGENTS.md, and
 * test/integration/agent/codex.test.ts): one JSON event per stdout line — `thread.started` names the session,
 * `item.started`/`item.completed` report commands, file changes and messages, `turn.completed` carries the
 * token usage. Codex reports no cost: it is computed here from a price table.
 *
 * Profile settings (in the agent profile's `env`, or host variables named in its `passEnv`):
 * - `CODEX_BASE_URL`: the Responses API base URL (default https://api.openai.com/v1). Codex ignores
 *   OPENAI_BASE_URL, so the adapter writes this into the run's config.toml.
 * - `OPENAI_API_KEY`: the key Codex sends (its provider's `env_key`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProfile } from '../../../config';
import type { AgentAdapter } from '../adapter';
import { buildAgentPromptFor } from '../prompt';
import { parseAgentLine, type AgentEvent } from '../protocol';
import { isCount, jsonObject, record, text } from './json-line';
import { costUsd, type ModelPrice } from './pricing';
import { profileVariable } from './profile-env';

export const CODEX_BASE_URL_VARIABLE = 'CODEX_BASE_URL';
export const CODEX_API_KEY_VARIABLE = 'OPENAI_API_KEY';
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * USD per million tokens, OpenAI's list prices (standard tier, prompts up to 272K tokens) as of 2026-04.
 * Update when they change; a model not listed here is recorded at cost 0.
 */
export const CODEX_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': { input: 5, cachedInput: 0.5, output: 30 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-codex': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
};


/**
 * One adapter per run (the registry builds one for every run): `parse` keeps the run's turn count, last message
 * and thread ID.
 */
export function codexAdapter(profile: AgentProfile): AgentAdapter {
  const run = { turn: 0, lastMessage: '', threadId: undefined as string | undefined };
  return {
    name: 'codex',
    supportsResume: true,
    invocation(task, ctx) {
      // Per card, not per attempt: threads are stored here, so a retry can resume one. Codex refuses to set up
      // its apply_patch helper when CODEX_HOME is under TMPDIR (writes then fail), and the state directory never is.
      const codexHome = join(ctx.stateDir, 'codex');
      mkdirSync(codexHome, { recursive: true });
      writeFileSync(join(codexHome, 'config.toml'), codexConfigToml(profile.model, profileVariable(profile, CODEX_BASE_URL_VARIABLE) ?? DEFAULT_BASE_URL), { mode: 0o600 });
      const prompt = buildAgentPromptFor(task, Boolean(ctx.resumeSessionId));
      // `exec resume` has no `-s`: without the sandbox setting it would run read-only and reject every edit
      // (on stderr only, while the turn still "completes").
      const args = ctx.resumeSessionId
        ? ['exec', 'resume', '--json', '-c', 'sandbox_mode="workspace-write"', ...profile.args, '--', ctx.resumeSessionId, prompt]
        : ['exec', '--json', '-s', 'workspace-write', ...profile.args, '--', prompt];
      // stdin: the process runner gives the agent /dev/null, so Codex does not wait for more prompt text on it.
      return { command: profile.command ?? 'codex', args, env: { CODEX_HOME: codexHome } };
    },
    parse(line) {
      const event = jsonObject(line);
      if (!event) return [parseAgentLine(line)];
      switch (event.type) {
        case 'thread.started': {
          const sessionId = text(event.thread_id);
          if (!sessionId) return [{ type: 'heartbeat' }];
          run.threadId = sessionId;
          return [{ type: 'session', sessionId }];
        }
        case 'turn.started':
          run.turn++;
          return [{ type: 'heartbeat' }];
        case 'item.started':
        case 'item.updated':
        case 'item.completed':
          return itemEvents(event, run);
        case 'turn.completed':
          return [completedResult(event, profile.model, run)];
        case 'turn.failed': {
          const error = record(event.error);
          const summary = `Codex turn failed: ${text(error?.message) ?? 'unknown error'}`;
          return [{ type: 'result', summary, isError: true, ...(run.threadId ? { sessionId: run.threadId } : {}) }];
        }
        case 'error':
          // Stream errors and reconnect notices; a failure that ends the run also comes as turn.failed.
          return [{ type: 'progress', message: `error: ${text(event.message) ?? line}`, turn: run.turn }];
        default:
          return [{ type: 'progress', message: line }];
      }
    },
  };
}

/** Everything Codex needs to reach the profile's provider and nothing else (zero outbound calls besides it). */
export function codexConfigToml(model: string | undefined, baseUrl: string): string {
  return [
    '# Written by Ouija before every Codex run of this card.',
    ...(model ? [`model = ${tomlString(model)}`] : []),
    'model_provider = "ouija"',
    'check_for_update_on_startup = false',
    '',
    '[model_providers.ouija]',
    'name = "Ouija agent profile"',
    `base_url = ${tomlString(baseUrl)}`,
    'wire_api = "responses"',
    `env_key = ${tomlString(CODEX_API_KEY_VARIABLE)}`,
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[features]',
    'plugins = false',
    'remote_plugin = false',
    'apps = false',
    '',
  ].join('\n');
}

/** A TOML basic string: JSON's escapes (\" \\ \n \uXXXX ...) are all valid TOML escapes. */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

type RunState = { turn: number; lastMessage: string; threadId: string | undefined };

function itemEvents(event: Record<string, unknown>, run: RunState): AgentEvent[] {
  const item = record(event.item);
  if (!item) return [{ type: 'heartbeat' }];
  const done = event.type === 'item.completed';
  const turn = Math.max(1, run.turn);
  const status = text(item.status);
  switch (item.type) {
    case 'agent_message': {
      const message = text(item.text);
      if (!done || !message) return [{ type: 'heartbeat' }];
      run.lastMessage = message;
      return [{ type: 'progress', message, turn }];
    }
    case 'reasoning': {
      const message = text(item.text);
      return done && message ? [{ type: 'progress', message, turn }] : [{ type: 'heartbeat' }];
    }
    case 'command_execution': {
      const command = text(item.command) ?? '';
      const exit = typeof item.exit_code === 'number' ? ` (exit ${item.exit_code})` : status && status !== 'in_progress' ? ` (${status})` : '';
      return [{ type: 'progress', message: `$ ${command}${done ? exit : ''}`, tool: 'command_execution', turn }];
    }
    case 'file_change': {
      const changes = (Array.isArray(item.changes) ? item.changes : []).map(record).filter((c) => c !== undefined);
      const list = changes.map((change) => `${text(change.kind) ?? 'change'} ${text(change.path) ?? '?'}`).join(', ');
      // A rejected patch is reported only here (status "failed"): the turn itself still completes.
      return [{ type: 'progress', message: `${list || 'file change'}${done && status ? ` (${status})` : ''}`, tool: 'file_change', turn }];
    }
    case 'mcp_tool_call': {
      const tool = `${text(item.server) ?? 'mcp'}/${text(item.tool) ?? 'tool'}`;
      return [{ type: 'progress', message: `tool: ${tool}${done && status ? ` (${status})` : ''}`, tool, turn }];
    }
    case 'web_search':
      return [{ type: 'progress', message: `web search: ${text(item.query) ?? ''}`, tool: 'web_search', turn }];
    case 'error':
      // Warnings (e.g. "Model metadata for `x` not found"), not failures.
      return [{ type: 'progress', message: `warning: ${text(item.message) ?? ''}`, turn }];
    default:
      return done ? [{ type: 'progress', message: `${String(item.type)}`, turn }] : [{ type: 'heartbeat' }];
  }
}

/**
 * The run's result. Usage on a resumed thread counts the whole thread (the dead attempt's tokens too, which
 * were never recorded as that attempt failed), so the last turn's figure is taken as it is.
 */
function completedResult(event: Record<string, unknown>, model: string | undefined, run: RunState): AgentEvent {
  const result: Extract<AgentEvent, { type: 'result' }> = { type: 'result', summary: run.lastMessage };
  const usage = record(event.usage);
  if (usage && isCount(usage.input_tokens) && isCount(usage.output_tokens)) {
    const cachedInput = isCount(usage.cached_input_tokens) ? usage.cached_input_tokens : 0;
    result.tokens = { input: usage.input_tokens, output: usage.output_tokens };
    result.costUsd = costUsd(CODEX_PRICES, model, { input: usage.input_tokens, cachedInput, output: usage.output_tokens });
  }
  if (run.threadId) result.sessionId = run.threadId;
  return result;
}
