/**
 * Aider (`aider --message-file … --yes-always --no-auto-commits`), verified against aider-chat 0.86.2 (see
 * test/fixtures/agent-streams/aider/README.md). Aider has no JSON stream and no tools: the model edits through
 * SEARCH/REPLACE blocks in its reply, and aider prints plain text. Lines it is known to print become progress;
 * after every model call it prints `Tokens: 1.2k sent, 80 received. Cost: $0.0038 message, $0.0038 session.`,
 * which becomes a running result (tokens summed, cost = the session figure). Aider exits 0 even when the
 * provider failed every retry, so a provider error line turns the result into an error until a later call
 * succeeds.
 *
 * Profile settings (in the agent profile's `env`, or host variables named in its `passEnv`): `OPENAI_API_BASE`
 * (passed as `--openai-api-base`) and `OPENAI_API_KEY`. A model without a provider prefix is taken as an
 * OpenAI-compatible one (`openai/<model>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentProfile } from '../../../config';
import type { AgentAdapter } from '../adapter';
import { buildAgentPrompt } from '../prompt';
import { parseAgentLine, type AgentEvent } from '../protocol';
import { profileVariable } from './profile-env';

export const AIDER_BASE_URL_VARIABLE = 'OPENAI_API_BASE';

/**
 * Flags that keep aider non-interactive and inside the worktree's content: no commits (Ouija commits), no
 * `.gitignore` edit, no repo-map cache directory (`.aider.tags.cache.*` would otherwise be committed with the
 * change; a profile can turn the map back on with `--map-tokens`), no fetching URLs found in the card's text,
 * no update checks, analytics, release notes or model warnings (which offer to open a browser).
 */
const FIXED_FLAGS = [
  '--yes-always',
  '--no-auto-commits',
  '--no-stream',
  '--no-pretty',
  '--no-check-update',
  '--no-analytics',
  '--no-gitignore',
  '--map-tokens',
  '0',
  '--no-detect-urls',
  '--no-show-release-notes',
  '--no-show-model-warnings',
];

/** One adapter per run (the registry builds one for every run): `parse` keeps the run's running totals. */
export function aiderAdapter(profile: AgentProfile): AgentAdapter {
  const run: RunState = { calls: 0, sent: 0, received: 0, costUsd: undefined, edited: [], error: undefined };
  return {
    name: 'aider',
    supportsResume: false,
    invocation(task, ctx) {
      // Everything aider would otherwise read or write in the repository or HOME lives in the run directory.
      const dir = join(ctx.runDir, 'aider');
      mkdirSync(dir, { recursive: true });
      // The prompt in a file: no argument-length limit, and a card title that starts with dashes stays text.
      const promptFile = join(dir, 'prompt.md');
      writeFileSync(promptFile, buildAgentPrompt(task), { mode: 0o600 });
      // An explicit (empty) config and env file: aider would otherwise load `.aider.conf.yml` and `.env` from
      // the worktree, which earlier agent steps may have written.
      const configFile = join(dir, 'aider.conf.yml');
      writeFileSync(configFile, '{}\n', { mode: 0o600 });
      seedModelInfoCache(join(ctx.runDir, 'home'));

      const baseUrl = profileVariable(profile, AIDER_BASE_URL_VARIABLE);
      const args = [
        '--message-file', promptFile,
        ...FIXED_FLAGS,
        '--config', configFile,
        '--env-file', join(dir, 'none.env'),
        '--chat-history-file', join(dir, 'chat-history.md'),
        '--input-history-file', join(dir, 'input-history'),
        ...(profile.model ? ['--model', aiderModel(profile.model)] : []),
        ...(baseUrl ? ['--openai-api-base', baseUrl] : []),
        ...profile.args,
      ];
      return {
        command: profile.command ?? 'aider',
        args,
        env: {
          // litellm's bundled model list instead of downloading the latest at start.
          LITELLM_LOCAL_MODEL_COST_MAP: 'True',
          // Aider's console wraps at 80 columns when it has no terminal: long lines would reach us in pieces.
          COLUMNS: '1000',
        },
      };
    },
    parse(line) {
      const textLine = line.trim();
      if (textLine === '') return [{ type: 'heartbeat' }];
      // Aider prints no JSON, but the program configured may be a wrapper that speaks Ouija's protocol.
      if (textLine.startsWith('{')) return [parseAgentLine(line)];
      return parseOutputLine(textLine, run);
    },
  };
}

/** `openai/<model>` unless the model already names its litellm provider (`anthropic/…`, `openrouter/…`). */
export function aiderModel(model: string): string {
  return model.includes('/') ? model : `openai/${model}`;
}

/**
 * Aider downloads litellm's model price list at start unless its cache (in HOME, valid for a day) holds a
 * non-empty one; HOME is fresh for every run. A placeholder entry stops the download, and lookups fall back to
 * litellm's bundled list (LITELLM_LOCAL_MODEL_COST_MAP).
 */
function seedModelInfoCache(home: string): void {
  const caches = join(home, '.aider', 'caches');
  mkdirSync(caches, { recursive: true });
  writeFileSync(join(caches, 'model_prices_and_context_window.json'), `${JSON.stringify({ 'ouija-no-download': {} })}\n`);
}

interface RunState {
  /** Model calls reported so far (one `Tokens:` line each). */
  calls: number;
  sent: number;
  received: number;
  /** Aider's session cost: the total so far, when the model has a price. */
  costUsd: number | undefined;
  edited: string[];
  /** The last provider error, until a later call succeeds. */
  error: string | undefined;
}

// `Tokens: 1.2k sent, 3.4k cache write, 12k cache hit, 80 received.` (cache parts only when the provider reports them)
const TOKENS = /^Tokens: ([\d.]+k?) sent(?:, ([\d.]+k?) cache write)?(?:, ([\d.]+k?) cache hit)?, ([\d.]+k?) received\./;
// On the same line, or (with both cache figures) the next one.
const COST = /Cost: \$([\d.]+) message, \$([\d.]+) session\./;
const APPLIED = /^Applied edit to (.+)$/;
const PROVIDER_ERROR = /^litellm\.\w+(?:Error|Exception):/;

function parseOutputLine(line: string, run: RunState): AgentEvent[] {
  const tokens = TOKENS.exec(line);
  const cost = COST.exec(line);
  if (tokens || cost) {
    if (tokens) {
      run.calls++;
      run.error = undefined;
      // What a call read: `sent` (which includes cache writes) plus cache hits; counts ≥ 1000 arrive rounded.
      run.sent += tokenCount(tokens[1]!) + tokenCount(tokens[3]);
      run.received += tokenCount(tokens[4]!);
    }
    if (cost) run.costUsd = Number(cost[2]);
    return [{ type: 'progress', message: line, turn: Math.max(1, run.calls) }, result(run)];
  }
  const applied = APPLIED.exec(line);
  if (applied) {
    run.edited.push(applied[1]!);
    return [{ type: 'progress', message: line, tool: 'edit', turn: Math.max(1, run.calls) }, result(run)];
  }
  if (PROVIDER_ERROR.test(line)) {
    run.error = line;
    return [{ type: 'progress', message: line }, result(run)];
  }
  return [{ type: 'progress', message: line }];
}

/** The run's result so far: the last one aider's output yields is the run's. */
function result(run: RunState): AgentEvent {
  if (run.error) return { type: 'result', summary: `Aider could not reach the model: ${run.error}`, isError: true };
  const summary = run.edited.length > 0 ? `Applied edits to ${[...new Set(run.edited)].join(', ')}` : 'Aider applied no edits';
  const event: Extract<AgentEvent, { type: 'result' }> = { type: 'result', summary };
  if (run.calls > 0) event.tokens = { input: run.sent, output: run.received };
  if (run.costUsd !== undefined) event.costUsd = run.costUsd;
  return event;
}

/** `80` → 80, `1.2k` → 1200, `12k` → 12000 (aider's format_tokens); absent → 0. */
function tokenCount(text: string | undefined): number {
  if (!text) return 0;
  const value = text.endsWith('k') ? Number(text.slice(0, -1)) * 1000 : Number(text);
  return Number.isFinite(value) ? Math.round(value) : 0;
}
