/**
 * The Aider adapter: its command line and run files, and its reading of aider's plain output as a real aider
 * 0.86.2 printed it (fixtures recorded by test/fixtures/agent-streams/aider/record.ts), plus the documented
 * `Tokens:` variants the fake provider cannot produce (cache figures, rounded thousands).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentProfile } from '../../../src/config';
import { aiderAdapter, aiderModel } from '../../../src/plugins/agent/adapters/aider';
import type { AgentEvent } from '../../../src/plugins/agent/protocol';
import { agentStreams, baseProfile, expectParseNeverThrows, parseLinesWith, scratchRunContext, task } from './adapter-test-kit';

const streams = agentStreams('aider');

function profile(overrides: Partial<AgentProfile> = {}): AgentProfile {
  return baseProfile('aider', { sandbox: 'none', ...overrides });
}

const ctx = scratchRunContext('aider-adapter-');

function parseLines(lines: string[]): AgentEvent[] {
  return parseLinesWith(aiderAdapter(profile()), lines);
}

function parseFixture(name: string): AgentEvent[] {
  return streams.parse(aiderAdapter(profile()), name);
}

function lastResult(events: AgentEvent[]): AgentEvent | undefined {
  return events.filter((e) => e.type === 'result').at(-1);
}

/** The value that follows `flag` in `args`. */
function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

describe('invocation', () => {
  test('non-interactive flags, the prompt in a file, run-local config and history, the profile model and base URL', () => {
    const custom = profile({ model: 'gpt-4o', env: { OPENAI_API_BASE: 'http://127.0.0.1:9/v1' } });
    const { command, args, env } = aiderAdapter(custom).invocation(task, ctx);
    expect(command).toBe('aider');
    for (const flag of ['--yes-always', '--no-auto-commits', '--no-stream', '--no-pretty', '--no-check-update', '--no-analytics', '--no-gitignore', '--no-detect-urls']) {
      expect(args).toContain(flag);
    }
    expect(after(args, '--map-tokens')).toBe('0');
    expect(after(args, '--model')).toBe('openai/gpt-4o');
    expect(after(args, '--openai-api-base')).toBe('http://127.0.0.1:9/v1');
    // The prompt is a file in the run directory, built from the task.
    const prompt = fs.readFileSync(after(args, '--message-file')!, 'utf8');
    expect(prompt).toContain('--help me add a greeting');
    expect(prompt).toContain('Mention the weather too.');
    // Nothing aider reads or writes is left to the worktree.
    const aiderDir = path.join(ctx.runDir, 'aider');
    for (const flag of ['--message-file', '--config', '--env-file', '--chat-history-file', '--input-history-file']) {
      expect(path.dirname(after(args, flag)!)).toBe(aiderDir);
    }
    expect(fs.readFileSync(after(args, '--config')!, 'utf8')).toBe('{}\n');
    expect(env).toEqual({ LITELLM_LOCAL_MODEL_COST_MAP: 'True', COLUMNS: '1000' });
    // The model price list is not downloaded: the run HOME's cache holds a (placeholder) list.
    const cache = path.join(ctx.runDir, 'home', '.aider', 'caches', 'model_prices_and_context_window.json');
    expect(Object.keys(JSON.parse(fs.readFileSync(cache, 'utf8')))).not.toHaveLength(0);
  });

  test('no model or base URL: aider chooses; extra profile arguments come last, so they win', () => {
    const { command, args } = aiderAdapter(profile({ command: '/opt/aider', args: ['--map-tokens', '1024'] })).invocation(task, ctx);
    expect(command).toBe('/opt/aider');
    expect(args).not.toContain('--model');
    expect(args).not.toContain('--openai-api-base');
    expect(args.slice(-2)).toEqual(['--map-tokens', '1024']);
  });

  test('a model that names its provider is passed as it is', () => {
    expect(aiderModel('gpt-4o')).toBe('openai/gpt-4o');
    expect(aiderModel('anthropic/claude-sonnet-4-5')).toBe('anthropic/claude-sonnet-4-5');
  });
});

describe('parse: recorded output of a real aider', () => {
  test('gpt-4o: the reply lines are progress, the Tokens line gives tokens and cost, the edit the summary', () => {
    const events = parseFixture('success.txt');
    expect(events).toContainEqual({ type: 'progress', message: 'I created the file as asked.' });
    expect(events).toContainEqual({ type: 'progress', message: 'Tokens: 1.2k sent, 80 received. Cost: $0.0038 message, $0.0038 session.', turn: 1 });
    expect(events).toContainEqual({ type: 'progress', message: 'Applied edit to hello.txt', tool: 'edit', turn: 1 });
    expect(lastResult(events)).toEqual({ type: 'result', summary: 'Applied edits to hello.txt', tokens: { input: 1200, output: 80 }, costUsd: 0.0038 });
  });

  test('an unknown model: tokens, no cost', () => {
    expect(lastResult(parseFixture('unknown-model.txt'))).toEqual({ type: 'result', summary: 'Applied edits to hello-1.txt', tokens: { input: 1200, output: 80 } });
  });

  test('the provider fails every retry and aider exits 0: the result is an error', () => {
    const events = parseFixture('provider-error.txt');
    expect(events).toContainEqual({ type: 'progress', message: 'Retrying in 0.2 seconds...' });
    const result = lastResult(events);
    expect(result).toMatchObject({ type: 'result', isError: true });
    expect(result?.type === 'result' && result.summary).toBe(
      'Aider could not reach the model: litellm.InternalServerError: InternalServerError: OpenAIException - Internal server error (fake)',
    );
  });
});

describe('parse: the documented Tokens line', () => {
  test('rounded thousands, cache figures on one line and the cost on the next, summed over calls', () => {
    const events = parseLines([
      'Tokens: 12k sent, 2.5k cache write, 30k cache hit, 1.5k received.',
      'Cost: $0.04 message, $0.04 session.',
      'Applied edit to src/a.ts',
      'Tokens: 950 sent, 20 received. Cost: $0.0031 message, $0.04 session.',
      'Applied edit to src/a.ts',
      'Applied edit to src/b.ts',
    ]);
    expect(events.filter((e) => e.type === 'progress' && e.turn !== undefined).map((e) => (e.type === 'progress' ? e.turn : 0))).toEqual([1, 1, 1, 2, 2, 2]);
    expect(lastResult(events)).toEqual({ type: 'result', summary: 'Applied edits to src/a.ts, src/b.ts', tokens: { input: 42_950, output: 1520 }, costUsd: 0.04 });
  });

  test('a call that succeeds after a provider error clears it', () => {
    const events = parseLines(['litellm.APIConnectionError: Connection refused', 'Retrying in 0.2 seconds...', 'Tokens: 100 sent, 5 received.']);
    expect(lastResult(events)).toEqual({ type: 'result', summary: 'Aider applied no edits', tokens: { input: 100, output: 5 } });
  });

  test('blank lines are heartbeats, JSON lines read as Ouija protocol, anything else progress; nothing throws', () => {
    const adapter = aiderAdapter(profile());
    expect(adapter.parse('')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"result","summary":"wrapped"}')).toEqual([{ type: 'result', summary: 'wrapped' }]);
    expect(adapter.parse('Tokens: lots sent')).toEqual([{ type: 'progress', message: 'Tokens: lots sent' }]);
    const tokensish = fc.tuple(fc.stringMatching(/^[\d.]{0,4}k?$/), fc.stringMatching(/^[\d.]{0,4}k?$/)).map(([a, b]) => `Tokens: ${a} sent, ${b} received.`);
    expectParseNeverThrows(adapter, tokensish);
  });
});
