/**
 * Gemini CLI (`gemini -p … --output-format stream-json --yolo`). Verified against the real CLI 0.61.0
 * (the offline checks described in docs/AGENTS.md, and test/integration/agent/gemini.test.ts): one JSON event per stdout line —
 * `init` names the session, `message` lines carry the user prompt and the assistant's text (streamed as
 * deltas), `tool_use`/`tool_result` the tools, and a final `result` the status and token stats. The CLI
 * reports no cost: it is computed here from a price table.
 *
 * Profile settings (in the agent profile's `env`, or host variables named in its `passEnv`; they reach the
 * CLI as they are): `GEMINI_API_KEY`, and `GOOGLE_GEMINI_BASE_URL` to talk to another endpoint than Google's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProfile } from '../../../config';
import type { AgentAdapter } from '../adapter';
import { buildAgentPrompt } from '../prompt';
import { parseAgentLine, type AgentEvent } from '../protocol';
import { isCount, jsonObject, record, text } from './json-line';
import { costUsd, type ModelPrice } from './pricing';

/**
 * USD per million tokens, Google's list prices for prompts up to 200K tokens, as of 2025-10. Update when
 * they change; a model not listed here is recorded at cost 0.
 */
export const GEMINI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gemini-2.5-pro': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gemini-2.5-flash': { input: 0.3, cachedInput: 0.03, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, cachedInput: 0.01, output: 0.4 },
};

/**
 * Headless mode with a custom base URL needs the auth type chosen in settings (else exit 41, "Invalid auth
 * method"); usage statistics off keeps the CLI from calling anything but the model API.
 */
export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  privacy: { usageStatisticsEnabled: false },
};

/** One adapter per run (the registry builds one for every run): `parse` keeps the run's turns, tools and text. */
export function geminiAdapter(profile: AgentProfile): AgentAdapter {
  const run: RunState = { turn: 0, inTurn: false, toolNames: new Map(), reply: '', sessionId: undefined, model: profile.model };
  return {
    name: 'gemini',
    // Sessions live under the run's HOME, which does not outlive the attempt.
    supportsResume: false,
    invocation(task, ctx) {
      // The run's HOME (run-agent makes `<runDir>/home` the agent's HOME): settings do not leak between runs.
      const settingsDir = join(ctx.runDir, 'home', '.gemini');
      mkdirSync(settingsDir, { recursive: true });
      writeFileSync(join(settingsDir, 'settings.json'), `${JSON.stringify(GEMINI_SETTINGS, null, 2)}\n`, { mode: 0o600 });
      const args = [...(profile.model ? ['-m', profile.model] : []), '--output-format', 'stream-json', '--yolo', ...profile.args];
      // `--prompt=<text>` in one argument: a prompt that starts with dashes is still the option's value.
      args.push(`--prompt=${buildAgentPrompt(task)}`);
      return {
        command: profile.command ?? 'gemini',
        args,
        // An untrusted folder turns approvals back on, and headless mode cannot answer them.
        env: { GEMINI_CLI_TRUST_WORKSPACE: 'true' },
      };
    },
    parse(line) {
      const event = jsonObject(line);
      if (!event) return [parseAgentLine(line)];
      switch (event.type) {
        case 'init': {
          // The model actually used (the CLI picks one when the profile names none) is what is priced.
          run.model = text(event.model) ?? run.model;
          const sessionId = text(event.session_id);
          if (!sessionId) return [{ type: 'heartbeat' }];
          run.sessionId = sessionId;
          return [{ type: 'session', sessionId }];
        }
        case 'message':
          return messageEvents(event, run);
        case 'tool_use': {
          const tool = text(event.tool_name) ?? 'unknown';
          const id = text(event.tool_id);
          if (id) run.toolNames.set(id, tool);
          run.reply = '';
          return [{ type: 'progress', message: `tool: ${tool}`, tool, turn: startTurn(run) }];
        }
        case 'tool_result': {
          run.inTurn = false;
          const tool = run.toolNames.get(text(event.tool_id) ?? '') ?? 'unknown';
          const status = text(event.status) ?? 'done';
          const error = text(record(event.error)?.message);
          return [{ type: 'progress', message: `tool ${tool}: ${status}${error ? ` (${error})` : ''}`, tool, turn: Math.max(1, run.turn) }];
        }
        case 'result':
          return [resultEvent(event, run)];
        case 'error':
          return [{ type: 'progress', message: `error: ${text(event.message) ?? line}` }];
        default:
          return [{ type: 'progress', message: line }];
      }
    },
  };
}

interface RunState {
  turn: number;
  /** Whether the model's current response has started (a tool result ends it; the next output starts a turn). */
  inTurn: boolean;
  toolNames: Map<string, string>;
  /** The assistant's text since its last tool call: its final reply, once the run ends. */
  reply: string;
  sessionId: string | undefined;
  model: string | undefined;
}

function startTurn(run: RunState): number {
  if (!run.inTurn) {
    run.turn++;
    run.inTurn = true;
  }
  return run.turn;
}

function messageEvents(event: Record<string, unknown>, run: RunState): AgentEvent[] {
  const content = text(event.content);
  // The user's prompt is echoed back: nothing new.
  if (event.role !== 'assistant' || !content) return [{ type: 'heartbeat' }];
  run.reply += content;
  return [{ type: 'progress', message: content, turn: startTurn(run) }];
}

function resultEvent(event: Record<string, unknown>, run: RunState): AgentEvent {
  const isError = event.status !== 'success';
  const error = record(event.error);
  const summary = isError ? `Gemini CLI failed: ${text(error?.message) ?? text(event.status) ?? 'unknown status'}` : run.reply.trim();
  const result: Extract<AgentEvent, { type: 'result' }> = { type: 'result', summary };
  // `input_tokens` counts every prompt token; `cached` is the part served from the context cache.
  const stats = record(event.stats);
  if (stats && isCount(stats.input_tokens) && isCount(stats.output_tokens)) {
    result.tokens = { input: stats.input_tokens, output: stats.output_tokens };
    const cachedInput = isCount(stats.cached) ? stats.cached : 0;
    result.costUsd = costUsd(GEMINI_PRICES, run.model, { input: stats.input_tokens, cachedInput, output: stats.output_tokens });
  }
  if (run.sessionId) result.sessionId = run.sessionId;
  if (isError) result.isError = true;
  return result;
}
