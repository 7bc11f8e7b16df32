/**
 * The Gemini CLI adapter: its command line and settings, and its reading of stream-json as the real CLI
 * printed it (fixtures recorded by test/fixtures/agent-streams/gemini/record.ts).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentProfile } from '../../../src/config';
import { geminiAdapter } from '../../../src/plugins/agent/adapters/gemini';
import type { AgentEvent } from '../../../src/plugins/agent/protocol';
import { agentStreams, baseProfile, expectParseNeverThrows, jsonLine, parseLinesWith, scratchRunContext, task } from './adapter-test-kit';

const streams = agentStreams('gemini');

function profile(overrides: Partial<AgentProfile> = {}): AgentProfile {
  return baseProfile('gemini', { sandbox: 'none', ...overrides });
}

const ctx = scratchRunContext('gemini-adapter-');

function parseLines(lines: string[], model = 'gemini-2.5-flash'): AgentEvent[] {
  return parseLinesWith(geminiAdapter(profile({ model })), lines);
}

/** The session the fixture's `init` line names (it changes whenever the fixtures are re-recorded). */
function fixtureSession(name: string): string {
  return streams.firstLineField(name, 'session_id');
}

function parseFixture(name: string): AgentEvent[] {
  return parseLines(streams.lines(name));
}

describe('invocation', () => {
  test('headless stream-json in yolo mode, the prompt inside its own `--prompt=` argument, a trusted workspace', () => {
    const adapter = geminiAdapter(profile({ model: 'gemini-2.5-flash' }));
    const { command, args, env } = adapter.invocation(task, ctx);
    expect(command).toBe('gemini');
    expect(args.slice(0, -1)).toEqual(['-m', 'gemini-2.5-flash', '--output-format', 'stream-json', '--yolo']);
    // One argument: a title starting with dashes stays the option's value.
    const prompt = args.at(-1)!;
    expect(prompt).toMatch(/^--prompt=You are a coding agent/);
    expect(prompt).toContain('--help me add a greeting');
    expect(prompt).toContain('Mention the weather too.');
    expect(env).toEqual({ GEMINI_CLI_TRUST_WORKSPACE: 'true' });
    expect(adapter.supportsResume).toBe(false);
  });

  test('settings.json in the run HOME: API-key auth, no usage statistics', () => {
    geminiAdapter(profile()).invocation(task, ctx);
    const file = path.join(ctx.runDir, 'home', '.gemini', 'settings.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ security: { auth: { selectedType: 'gemini-api-key' } }, privacy: { usageStatisticsEnabled: false } });
    expect(fs.statSync(file).mode & 0o077).toBe(0);
  });

  test('the profile chooses the program and extra arguments; no model, no -m', () => {
    const { command, args } = geminiAdapter(profile({ command: '/opt/bin/gemini', args: ['--include-directories', '/docs'] })).invocation(task, ctx);
    expect(command).toBe('/opt/bin/gemini');
    expect(args.slice(0, -1)).toEqual(['--output-format', 'stream-json', '--yolo', '--include-directories', '/docs']);
  });
});

describe('parse: recorded streams of the real CLI', () => {
  test('a write_file call in turn 1, the final text in turn 2, the result with usage and cost', () => {
    const events = parseFixture('success.ndjson');
    const sessionId = fixtureSession('success.ndjson');
    expect(events[0]).toEqual({ type: 'session', sessionId });
    expect(events.filter((e) => e.type === 'progress')).toEqual([
      { type: 'progress', message: 'tool: write_file', tool: 'write_file', turn: 1 },
      { type: 'progress', message: 'tool write_file: success', tool: 'write_file', turn: 1 },
      { type: 'progress', message: 'Done: I wrote the file.', turn: 2 },
    ]);
    // 1600 uncached × $0.30/M + 400 cached × $0.03/M + 100 out × $2.50/M.
    expect(events.at(-1)).toEqual({ type: 'result', summary: 'Done: I wrote the file.', tokens: { input: 2000, output: 100 }, costUsd: 0.000742, sessionId });
    expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
  });

  test('a refused tool call is progress with its error; the run still succeeds', () => {
    const events = parseFixture('tool-error.ndjson');
    expect(events).toContainEqual({ type: 'progress', message: expect.stringMatching(/^tool write_file: error \(Path not in workspace: /), tool: 'write_file', turn: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'result', summary: 'Done: I wrote the file.' });
    expect(events.at(-1)).not.toHaveProperty('isError');
  });

  test('a provider 500 after the retries: an error result', () => {
    const result = parseFixture('provider-error.ndjson').at(-1);
    expect(result).toMatchObject({ type: 'result', isError: true, sessionId: fixtureSession('provider-error.ndjson') });
    expect(result?.type === 'result' && result.summary).toMatch(/^Gemini CLI failed: \[API Error: .*Internal error \(fake\)/);
  });
});

describe('parse: the reply and the model', () => {
  test('the summary is the assistant text after its last tool call, deltas joined', () => {
    const events = parseLines([
      '{"type":"message","role":"assistant","content":"Let me write it.","delta":true}',
      '{"type":"tool_use","tool_name":"write_file","tool_id":"t1","parameters":{}}',
      '{"type":"tool_result","tool_id":"t1","status":"success"}',
      '{"type":"message","role":"assistant","content":"Wrote ","delta":true}',
      '{"type":"message","role":"assistant","content":"hello.txt.","delta":true}',
      '{"type":"result","status":"success","stats":{"input_tokens":10,"output_tokens":2}}',
    ]);
    expect(events.map((e) => (e.type === 'progress' ? e.turn : e.type))).toEqual([1, 1, 1, 2, 2, 'result']);
    expect(events.at(-1)).toMatchObject({ summary: 'Wrote hello.txt.' });
  });

  test('the model the CLI reports in init is the one priced (the profile named none)', () => {
    const adapter = geminiAdapter(profile());
    adapter.parse('{"type":"init","session_id":"s","model":"gemini-2.5-pro"}');
    const [result] = adapter.parse('{"type":"result","status":"success","stats":{"input_tokens":1000000,"output_tokens":0,"cached":0}}');
    expect(result).toMatchObject({ costUsd: 1.25, sessionId: 's' });
  });
});

describe('parse: odd lines', () => {
  test('plain text and broken JSON are progress, blank lines heartbeats, the echoed prompt a heartbeat', () => {
    const adapter = geminiAdapter(profile());
    expect(adapter.parse('Ripgrep is not available.')).toEqual([{ type: 'progress', message: 'Ripgrep is not available.' }]);
    expect(adapter.parse('{"type":"init",')).toEqual([{ type: 'progress', message: '{"type":"init",' }]);
    expect(adapter.parse('')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"message","role":"user","content":"do it"}')).toEqual([{ type: 'heartbeat' }]);
  });

  test('lines with missing or mistyped fields degrade instead of throwing', () => {
    const adapter = geminiAdapter(profile());
    expect(adapter.parse('{"type":"init"}')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"tool_result","tool_id":"nope","status":7}')).toEqual([{ type: 'progress', message: 'tool unknown: done', tool: 'unknown', turn: 1 }]);
    expect(adapter.parse('{"type":"result","status":"error"}')).toEqual([{ type: 'result', summary: 'Gemini CLI failed: error', isError: true }]);
    expect(adapter.parse('{"type":"result","status":"success","stats":{"input_tokens":-1,"output_tokens":2}}')).toEqual([{ type: 'result', summary: '' }]);
  });

  test('never throws, whatever the line', () => {
    const adapter = geminiAdapter(profile({ model: 'gemini-2.5-flash' }));
    const shaped = fc
      .record({ type: fc.constantFrom('init', 'message', 'tool_use', 'tool_result', 'result', 'error'), role: fc.jsonValue(), content: fc.jsonValue(), tool_id: fc.jsonValue(), tool_name: fc.jsonValue(), status: fc.jsonValue(), stats: fc.jsonValue(), error: fc.jsonValue() })
      .map((v) => JSON.stringify(v));
    expectParseNeverThrows(adapter, jsonLine, shaped);
  });
});
