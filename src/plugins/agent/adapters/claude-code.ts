/**
 * Claude Code (`claude -p … --output-format stream-json --verbose`). Verified against the real CLI 2.1.328
 * (the offline checks described in docs/AGENTS.md): one JSON object per stdout line — `system/init` names the session, each
 * `assistant` line carries one content block of a model turn, and a final `result` line carries the summary,
 * usage, cost and whether the run failed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProfile } from '../../../config';
import type { AgentAdapter } from '../adapter';
import { buildAgentPrompt, buildAgentPromptFor } from '../prompt';
import { parseAgentLine, type AgentEvent, type AgentTokens } from '../protocol';
import { isCount, jsonObject, record, text } from './json-line';

/**
 * Edits and shell commands without a prompt. As root, the CLI refuses `bypassPermissions` (and
 * `--dangerously-skip-permissions`) unless IS_SANDBOX=1, while `acceptEdits` plus an explicit tool list works
 * for every user; with no permission setting it exits 0 having written nothing.
 */
const PERMISSION_MODE = 'acceptEdits';
const DEFAULT_ALLOWED_TOOLS = ['Bash', 'Edit', 'Write', 'Read'];

/** Told to a warm session's later task: the conversation above was about this same card. */
const WARM_PREFACE =
  'This continues your earlier session on the same card: its next review round follows. The working directory ' +
  'holds what you did before.\n\n';


export function claudeCodeAdapter(profile: AgentProfile): AgentAdapter {
  // Model turns seen per session: each content block of a turn comes on its own line, with the turn's message id.
  const turnsBySession = new Map<string, Set<string>>();

  return {
    name: 'claude-code',
    supportsResume: true,
    supportsWarmSession: true,
    invocation(task, ctx) {
      // Warm: the card's session directory holds the config dir, so a rotated session's store is gone with it.
      const warm = ctx.session;
      const configDir = join(warm ? warm.dir : ctx.stateDir, 'claude');
      const crashResume = ctx.resumeSessionId && sessionSaved(configDir, ctx.resumeSessionId) ? ctx.resumeSessionId : undefined;
      // A later task of the card's warm session continues it; its first task creates it under the derived id.
      const warmResume = !crashResume && warm && sessionSaved(configDir, warm.id) ? warm.id : undefined;
      const prompt = ctx.resumeSessionId ? buildAgentPromptFor(task, true) : warmResume ? WARM_PREFACE + buildAgentPrompt(task) : buildAgentPrompt(task);
      const args = ['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', PERMISSION_MODE];
      if (profile.model) args.push('--model', profile.model);
      const resume = crashResume ?? warmResume;
      if (resume) args.push('--resume', resume);
      else if (warm) args.push('--session-id', warm.id);
      args.push(...profile.args);
      // Variadic: every tool is its own argument (a rule like `Bash(npm test:*)` keeps its spaces)...
      args.push('--allowedTools', ...(profile.allowedTools ?? DEFAULT_ALLOWED_TOOLS));
      // ...so the list ends at `--`, and the prompt after it is never read as an option, whatever it starts with.
      args.push('--', prompt);
      return {
        command: profile.command ?? 'claude',
        args,
        env: {
          // Per card (warm: per card session), not per attempt: sessions live here, so a retry can resume one.
          CLAUDE_CONFIG_DIR: configDir,
          // No update checks, telemetry or error reporting: the agent talks to its model API and nothing else.
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
      };
    },
    parse(line) {
      const event = jsonObject(line);
      return event ? parseStreamJson(event, line, turnsBySession) : [parseAgentLine(line)];
    },
  };
}

/**
 * Whether the config dir holds the session's transcript (`projects/<cwd key>/<id>.jsonl`). A retry on another
 * machine has no such file, and `--resume` of an unknown session fails at once (and reports the same session ID
 * again, so every later retry would fail too): such a retry starts a fresh session in the rebuilt worktree.
 */
function sessionSaved(configDir: string, sessionId: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(sessionId)) return false;
  const projects = join(configDir, 'projects');
  try {
    return readdirSync(projects).some((project) => existsSync(join(projects, project, `${sessionId}.jsonl`)));
  } catch {
    return false;
  }
}

function parseStreamJson(event: Record<string, unknown>, line: string, turnsBySession: Map<string, Set<string>>): AgentEvent[] {
  const sessionId = text(event.session_id);
  switch (event.type) {
    case 'system':
      if (event.subtype === 'init' && sessionId) return [{ type: 'session', sessionId }];
      if (event.subtype === 'api_retry') {
        return [{ type: 'progress', message: `API error ${String(event.error_status ?? event.error ?? '')}, retry ${String(event.attempt)} of ${String(event.max_retries)}` }];
      }
      return [{ type: 'heartbeat' }];
    case 'assistant':
      return assistantEvents(event, sessionId, turnsBySession);
    case 'user':
      // Tool results going back to the model: a sign of life, nothing to report.
      return [{ type: 'heartbeat' }];
    case 'result':
      return [resultEvent(event, sessionId)];
    default:
      return [{ type: 'progress', message: line }];
  }
}

function assistantEvents(event: Record<string, unknown>, sessionId: string | undefined, turnsBySession: Map<string, Set<string>>): AgentEvent[] {
  const message = record(event.message) ?? {};
  const turn = countTurn(turnsBySession, sessionId ?? '', text(message.id));
  const blocks = Array.isArray(message.content) ? message.content.map(record).filter((block) => block !== undefined) : [];
  const events: AgentEvent[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_use') {
      const tool = text(block.name) ?? 'unknown';
      events.push({ type: 'progress', message: `tool: ${tool}`, tool, turn });
    } else if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
      events.push({ type: 'progress', message: block.text, turn });
    }
  }
  return events.length > 0 ? events : [{ type: 'heartbeat' }];
}

/** The turn (from 1) a message belongs to: a new message id is a new turn of that session. */
function countTurn(turnsBySession: Map<string, Set<string>>, sessionId: string, messageId: string | undefined): number {
  let seen = turnsBySession.get(sessionId);
  if (!seen) turnsBySession.set(sessionId, (seen = new Set()));
  if (messageId !== undefined) seen.add(messageId);
  return Math.max(1, seen.size);
}

function resultEvent(event: Record<string, unknown>, sessionId: string | undefined): AgentEvent {
  // Judged by is_error alone: on a provider error the CLI still says subtype "success" (AGENT-CLIS.md).
  const isError = event.is_error === true;
  const summary = text(event.result) ?? (isError ? `Claude Code failed (${String(event.terminal_reason ?? event.subtype ?? 'unknown reason')})` : '');
  const result: AgentEvent = { type: 'result', summary };
  const tokens = tokensOf(event.usage);
  if (tokens) result.tokens = tokens;
  if (typeof event.total_cost_usd === 'number' && event.total_cost_usd >= 0) result.costUsd = event.total_cost_usd;
  if (sessionId) result.sessionId = sessionId;
  if (isError) result.isError = true;
  return result;
}

/**
 * Input counts every prompt token the model read: with prompt caching most of them are reported as cache
 * reads or writes rather than `input_tokens`, and leaving them out would make a long session look nearly free.
 */
function tokensOf(value: unknown): AgentTokens | undefined {
  const usage = record(value);
  if (!usage || !isCount(usage.input_tokens) || !isCount(usage.output_tokens)) return undefined;
  const cached = [usage.cache_creation_input_tokens, usage.cache_read_input_tokens].filter(isCount).reduce((a, b) => a + b, 0);
  return { input: usage.input_tokens + cached, output: usage.output_tokens };
}
