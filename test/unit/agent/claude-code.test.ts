/**
 * The Claude Code adapter: its command line, and its reading of stream-json as the real CLI printed it
 * (fixtures recorded by test/fixtures/agent-streams/claude-code/record.ts).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentProfile } from '../../../src/config';
import { claudeCodeAdapter } from '../../../src/plugins/agent/adapters/claude-code';
import { agentStreams, baseProfile, expectParseNeverThrows, jsonLine, task } from './adapter-test-kit';

const streams = agentStreams('claude-code');

function profile(overrides: Partial<AgentProfile> = {}): AgentProfile {
  return baseProfile('claude-code', overrides);
}

const ctx = { taskFile: '/runs/7/a1/task.json', runDir: '/runs/7/a1', stateDir: '/runs/7/state' };

function parseFixture(name: string) {
  return streams.parse(claudeCodeAdapter(profile()), name);
}

/** The session the CLI named in a recording's first (`system/init`) line: re-recording changes it. */
function recordedSession(name: string): string {
  return streams.firstLineField(name, 'session_id');
}

describe('invocation', () => {
  test('print mode with stream-json, accept-edits permissions, the default tools, and the prompt after `--`', () => {
    const { command, args, env } = claudeCodeAdapter(profile()).invocation(task, ctx);
    expect(command).toBe('claude');
    expect(args.slice(0, 6)).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits']);
    expect(args.slice(-7, -1)).toEqual(['--allowedTools', 'Bash', 'Edit', 'Write', 'Read', '--']);
    // The prompt is one argument, built from the task; a title starting with dashes cannot become an option.
    const prompt = args.at(-1)!;
    expect(prompt).toContain('--help me add a greeting');
    expect(prompt).toContain('Mention the weather too.');
    expect(args).not.toContain('--resume');
    expect(args).not.toContain('--model');
    expect(env).toEqual({ CLAUDE_CONFIG_DIR: '/runs/7/state/claude', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
  });

  test('the profile chooses the program, model, tools and extra arguments', () => {
    const custom = profile({ command: '/opt/bin/claude', model: 'claude-sonnet-4-5', allowedTools: ['Edit', 'Bash(npm test:*)'], args: ['--max-turns', '5'] });
    const { command, args } = claudeCodeAdapter(custom).invocation(task, ctx);
    expect(command).toBe('/opt/bin/claude');
    expect(args[args.indexOf('--model') + 1]).toBe('claude-sonnet-4-5');
    // Extra arguments come before the variadic tool list, which ends at `--`.
    expect(args.slice(args.indexOf('--max-turns'), -1)).toEqual(['--max-turns', '5', '--allowedTools', 'Edit', 'Bash(npm test:*)', '--']);
  });

  describe('a retry after a crash', () => {
    const session = 'e0ad5c94-d7eb-46ea-8405-178d07c65735';
    let stateDir: string;
    beforeEach(() => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-state-'));
    });
    afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

    test('resumes the earlier session when its transcript is in the card config dir, and says so in the prompt', () => {
      // Where Claude Code keeps a session: <config dir>/projects/<working directory as a key>/<session>.jsonl
      fs.mkdirSync(path.join(stateDir, 'claude', 'projects', '-work-tree'), { recursive: true });
      fs.writeFileSync(path.join(stateDir, 'claude', 'projects', '-work-tree', `${session}.jsonl`), '{}\n');
      const adapter = claudeCodeAdapter(profile());
      expect(adapter.supportsResume).toBe(true);
      const { args, env } = adapter.invocation(task, { ...ctx, stateDir, resumeSessionId: session });
      expect(args[args.indexOf('--resume') + 1]).toBe(session);
      expect(args.at(-1)).toMatch(/^Your previous attempt at this task was interrupted/);
      expect(args.at(-1)).toContain('--help me add a greeting');
      // Same config dir as the first attempt: that is where the session is stored.
      expect(env?.CLAUDE_CONFIG_DIR).toBe(path.join(stateDir, 'claude'));
    });

    test('starts a fresh session when the transcript is not here (the retry runs on another machine)', () => {
      const { args } = claudeCodeAdapter(profile()).invocation(task, { ...ctx, stateDir, resumeSessionId: session });
      expect(args).not.toContain('--resume');
      expect(args.at(-1)).toMatch(/^Your previous attempt at this task was interrupted/);
    });

    test('never turns a strange session ID into a path', () => {
      fs.mkdirSync(path.join(stateDir, 'claude', 'projects', 'p'), { recursive: true });
      fs.writeFileSync(path.join(stateDir, 'claude', 'projects', 'p', 'x.jsonl'), '{}\n');
      const { args } = claudeCodeAdapter(profile()).invocation(task, { ...ctx, stateDir, resumeSessionId: '../p/x' });
      expect(args).not.toContain('--resume');
    });
  });
});

describe('parse: recorded streams of the real CLI', () => {
  test('a successful run: session, a Write tool call in turn 1, the final text in turn 2, the result with usage and cost', () => {
    const events = parseFixture('success.ndjson');
    const sessionId = recordedSession('success.ndjson');
    expect(events[0]).toEqual({ type: 'session', sessionId });
    expect(events.filter((e) => e.type === 'progress')).toEqual([
      { type: 'progress', message: 'tool: Write', tool: 'Write', turn: 1 },
      { type: 'progress', message: 'Done: I wrote the file.', turn: 2 },
    ]);
    expect(events.at(-1)).toEqual({ type: 'result', summary: 'Done: I wrote the file.', tokens: { input: 2400, output: 160 }, costUsd: 0.012799999999999999, sessionId });
    expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
  });

  test('a resumed run continues the same session', () => {
    const events = parseFixture('resume.ndjson');
    const sessionId = recordedSession('success.ndjson');
    expect(events[0]).toEqual({ type: 'session', sessionId });
    expect(events.at(-1)).toMatchObject({ type: 'result', sessionId });
  });

  test('a provider 500: the retry is progress, and the result is an error although its subtype says "success"', () => {
    expect(JSON.parse(streams.lines('api-error-500.ndjson').at(-1)!)).toMatchObject({ subtype: 'success', is_error: true });
    const events = parseFixture('api-error-500.ndjson');
    expect(events).toContainEqual({ type: 'progress', message: 'API error 500, retry 1 of 1' });
    const result = events.at(-1);
    expect(result).toMatchObject({ type: 'result', isError: true, sessionId: recordedSession('api-error-500.ndjson') });
    expect(result?.type === 'result' && result.summary).toMatch(/^API Error: 500/);
  });
});

describe('parse: odd lines', () => {
  test('plain text and broken JSON are progress, blank lines heartbeats', () => {
    const adapter = claudeCodeAdapter(profile());
    expect(adapter.parse('npm WARN something')).toEqual([{ type: 'progress', message: 'npm WARN something' }]);
    expect(adapter.parse('{"type":"assistant",')).toEqual([{ type: 'progress', message: '{"type":"assistant",' }]);
    expect(adapter.parse('')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"stream_event","event":{}}')).toEqual([{ type: 'progress', message: '{"type":"stream_event","event":{}}' }]);
  });

  test('lines with missing or mistyped fields degrade instead of throwing', () => {
    const adapter = claudeCodeAdapter(profile());
    expect(adapter.parse('{"type":"system","subtype":"init"}')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"assistant","message":{"content":"not blocks"}}')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"result","is_error":true,"usage":{"input_tokens":"many"},"total_cost_usd":-1}')).toEqual([
      { type: 'result', summary: 'Claude Code failed (unknown reason)', isError: true },
    ]);
    expect(adapter.parse('{"type":"result","result":"ok","usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":90}}')).toEqual([
      { type: 'result', summary: 'ok', tokens: { input: 100, output: 2 } },
    ]);
  });

  test('never throws, whatever the line', () => {
    const adapter = claudeCodeAdapter(profile());
    const shaped = fc.record({ type: fc.constantFrom('system', 'assistant', 'user', 'result'), subtype: fc.jsonValue(), message: fc.jsonValue(), usage: fc.jsonValue(), result: fc.jsonValue() }).map((v) => JSON.stringify(v));
    expectParseNeverThrows(adapter, jsonLine, shaped);
  });
});
