/**
 * The Codex adapter: its command line and config.toml, and its reading of `codex exec --json` as the real CLI
 * printed it (fixtures recorded by test/fixtures/agent-streams/codex/record.ts).
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentProfile } from '../../../src/config';
import { codexAdapter, codexConfigToml } from '../../../src/plugins/agent/adapters/codex';
import type { AgentEvent } from '../../../src/plugins/agent/protocol';
import { agentStreams, baseProfile, expectParseNeverThrows, jsonLine, scratchRunContext, task } from './adapter-test-kit';

const streams = agentStreams('codex');

function profile(overrides: Partial<AgentProfile> = {}): AgentProfile {
  return baseProfile('codex', { sandbox: 'none', ...overrides });
}

const ctx = scratchRunContext('codex-adapter-');

function configToml(): string {
  return fs.readFileSync(path.join(ctx.stateDir, 'codex', 'config.toml'), 'utf8');
}

/** The thread the fixture's first line names (it changes whenever the fixtures are re-recorded). */
function fixtureThread(name: string): string {
  return streams.firstLineField(name, 'thread_id');
}

function parseFixture(name: string, model = 'gpt-5.5'): AgentEvent[] {
  return streams.parse(codexAdapter(profile({ model })), name);
}

describe('invocation', () => {
  test('exec --json in the workspace-write sandbox, the prompt after `--`, CODEX_HOME in the card state', () => {
    const { command, args, env } = codexAdapter(profile()).invocation(task, ctx);
    expect(command).toBe('codex');
    expect(args.slice(0, -1)).toEqual(['exec', '--json', '-s', 'workspace-write', '--']);
    // The prompt is one argument, built from the task; a title starting with dashes cannot become an option.
    const prompt = args.at(-1)!;
    expect(prompt).toContain('--help me add a greeting');
    expect(prompt).toContain('Mention the weather too.');
    expect(env).toEqual({ CODEX_HOME: path.join(ctx.stateDir, 'codex') });
  });

  test('config.toml: the profile provider (default base URL), no update checks, analytics or plugins', () => {
    codexAdapter(profile()).invocation(task, ctx);
    const toml = configToml();
    expect(toml).not.toMatch(/^model =/m);
    expect(toml).toContain('model_provider = "ouija"\n');
    expect(toml).toContain('[model_providers.ouija]\n');
    expect(toml).toContain('base_url = "https://api.openai.com/v1"\n');
    expect(toml).toContain('wire_api = "responses"\n');
    expect(toml).toContain('env_key = "OPENAI_API_KEY"\n');
    expect(toml).toContain('check_for_update_on_startup = false\n');
    expect(toml).toContain('[analytics]\nenabled = false\n');
    expect(toml).toContain('[features]\nplugins = false\nremote_plugin = false\napps = false\n');
    expect(fs.statSync(path.join(ctx.stateDir, 'codex', 'config.toml')).mode & 0o077).toBe(0);
  });

  test('the profile chooses the program, model, base URL (literal or passed through) and extra arguments', () => {
    const custom = profile({ command: '/opt/bin/codex', model: 'gpt-5.5', env: { CODEX_BASE_URL: 'http://127.0.0.1:9/v1' }, args: ['-c', 'model_reasoning_effort="low"'] });
    const { command, args } = codexAdapter(custom).invocation(task, ctx);
    expect(command).toBe('/opt/bin/codex');
    expect(args.slice(4, -1)).toEqual(['-c', 'model_reasoning_effort="low"', '--']);
    expect(configToml()).toMatch(/^model = "gpt-5.5"$/m);
    expect(configToml()).toContain('base_url = "http://127.0.0.1:9/v1"\n');

    const previous = process.env.CODEX_BASE_URL;
    process.env.CODEX_BASE_URL = 'https://proxy.example.invalid/v1';
    try {
      codexAdapter(profile({ passEnv: ['CODEX_BASE_URL'] })).invocation(task, ctx);
      expect(configToml()).toContain('base_url = "https://proxy.example.invalid/v1"\n');
      // Not passed through: the host's value is not the profile's business.
      codexAdapter(profile()).invocation(task, ctx);
      expect(configToml()).toContain('base_url = "https://api.openai.com/v1"\n');
    } finally {
      if (previous === undefined) delete process.env.CODEX_BASE_URL;
      else process.env.CODEX_BASE_URL = previous;
    }
  });

  test('a retry after a crash resumes the thread, writable, and says so in the prompt', () => {
    const adapter = codexAdapter(profile());
    expect(adapter.supportsResume).toBe(true);
    const { args, env } = adapter.invocation(task, { ...ctx, resumeSessionId: '01a22137-ede0-7483-82a6-cf22cd17ea4e' });
    // `exec resume` has no -s: without sandbox_mode it would run read-only.
    expect(args.slice(0, -1)).toEqual(['exec', 'resume', '--json', '-c', 'sandbox_mode="workspace-write"', '--', '01a22137-ede0-7483-82a6-cf22cd17ea4e']);
    expect(args.at(-1)).toMatch(/^Your previous attempt at this task was interrupted/);
    expect(args.at(-1)).toContain('--help me add a greeting');
    expect(env?.CODEX_HOME).toBe(path.join(ctx.stateDir, 'codex'));
  });

  test('config values cannot break out of their TOML string', () => {
    const toml = codexConfigToml('m"\n[x]', 'http://h/"\nenv_key = "STOLEN"');
    expect(toml.split('\n').filter((line) => line.startsWith('env_key'))).toEqual(['env_key = "OPENAI_API_KEY"']);
    expect(toml).toContain('model = "m\\"\\n[x]"\n');
  });
});

describe('parse: recorded streams of the real CLI', () => {
  const thread = fixtureThread('success.ndjson');

  test('gpt-5.5 with apply_patch: thread, the file change in turn 1, the message, the result with usage and cost', () => {
    const events = parseFixture('success.ndjson');
    expect(events[0]).toEqual({ type: 'session', sessionId: thread });
    expect(events.filter((e) => e.type === 'progress')).toEqual([
      { type: 'progress', message: 'add /tmp/codex-fixture/repo/hello.txt', tool: 'file_change', turn: 1 },
      { type: 'progress', message: 'add /tmp/codex-fixture/repo/hello.txt (completed)', tool: 'file_change', turn: 1 },
      { type: 'progress', message: 'Done: I wrote the file.', turn: 1 },
    ]);
    // 1600 uncached × $5/M + 400 cached × $0.50/M + 100 out × $30/M.
    expect(events.at(-1)).toEqual({ type: 'result', summary: 'Done: I wrote the file.', tokens: { input: 2000, output: 100 }, costUsd: 0.0112, sessionId: thread });
    expect(events.filter((e) => e.type === 'result')).toHaveLength(1);
  });

  test('a resumed thread: same session, usage of the whole thread', () => {
    const events = parseFixture('resume.ndjson');
    expect(events[0]).toEqual({ type: 'session', sessionId: thread });
    expect(events.at(-1)).toMatchObject({ type: 'result', tokens: { input: 3000, output: 150 }, sessionId: thread });
  });

  test('an unknown model: the metadata warning, a shell command, cost 0', () => {
    const events = parseFixture('exec-command.ndjson', 'ouija-unknown-model');
    expect(events).toContainEqual({ type: 'progress', message: expect.stringMatching(/^warning: Model metadata for `ouija-unknown-model` not found/), turn: 1 });
    const commands = events.filter((e) => e.type === 'progress' && e.tool === 'command_execution');
    expect(commands).toHaveLength(2);
    expect(commands[1]).toMatchObject({ message: expect.stringMatching(/^\$ \/bin\/bash -lc "cat > 'hello-1.txt'[\s\S]*\(exit 0\)$/) });
    expect(events.at(-1)).toMatchObject({ type: 'result', tokens: { input: 2000, output: 100 }, costUsd: 0 });
  });

  test('a rejected patch shows as a failed file change (the turn itself still completes)', () => {
    const events = parseFixture('patch-failed.ndjson');
    expect(events).toContainEqual({ type: 'progress', message: 'add /tmp/codex-fixture/repo/hello-2.txt (failed)', tool: 'file_change', turn: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'result', summary: 'Done: I wrote the file.' });
  });

  test('a provider error: the error is progress, the result an error without usage', () => {
    const events = parseFixture('provider-error.ndjson');
    expect(events).toContainEqual({ type: 'progress', message: expect.stringMatching(/^error: /), turn: 1 });
    const result = events.at(-1);
    expect(result).toMatchObject({ type: 'result', isError: true, sessionId: expect.any(String) });
    expect(result?.type === 'result' && result.summary).toMatch(/^Codex turn failed: /);
    expect(result).not.toHaveProperty('tokens');
  });
});

describe('parse: odd lines', () => {
  test('plain text and broken JSON are progress, blank lines heartbeats', () => {
    const adapter = codexAdapter(profile());
    expect(adapter.parse('Reading additional input from stdin...')).toEqual([{ type: 'progress', message: 'Reading additional input from stdin...' }]);
    expect(adapter.parse('{"type":"item.completed",')).toEqual([{ type: 'progress', message: '{"type":"item.completed",' }]);
    expect(adapter.parse('')).toEqual([{ type: 'heartbeat' }]);
  });

  test('lines with missing or mistyped fields degrade instead of throwing', () => {
    const adapter = codexAdapter(profile({ model: 'gpt-5.5' }));
    expect(adapter.parse('{"type":"thread.started"}')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"item.completed","item":"nope"}')).toEqual([{ type: 'heartbeat' }]);
    expect(adapter.parse('{"type":"item.completed","item":{"type":"file_change","changes":[null,{"kind":7}]}}')).toEqual([
      { type: 'progress', message: 'change ?', tool: 'file_change', turn: 1 },
    ]);
    expect(adapter.parse('{"type":"turn.completed","usage":{"input_tokens":"many","output_tokens":2}}')).toEqual([{ type: 'result', summary: '' }]);
    expect(adapter.parse('{"type":"turn.failed"}')).toEqual([{ type: 'result', summary: 'Codex turn failed: unknown error', isError: true }]);
  });

  test('never throws, whatever the line', () => {
    const adapter = codexAdapter(profile({ model: 'gpt-5.5' }));
    const shaped = fc
      .record({
        type: fc.constantFrom('thread.started', 'turn.started', 'item.started', 'item.completed', 'turn.completed', 'turn.failed', 'error'),
        thread_id: fc.jsonValue(),
        item: fc.oneof(fc.jsonValue(), fc.record({ type: fc.constantFrom('agent_message', 'command_execution', 'file_change', 'mcp_tool_call', 'error'), text: fc.jsonValue(), changes: fc.jsonValue(), exit_code: fc.jsonValue() })),
        usage: fc.jsonValue(),
        error: fc.jsonValue(),
      })
      .map((v) => JSON.stringify(v));
    expectParseNeverThrows(adapter, jsonLine, shaped);
  });
});
