/**
 * Warm sessions (src/plugins/agent/session.ts): the pure keying and rotation (card key + task number + maxTasks →
 * session key, id and generation), the on-disk directory that is never handed to another card, the profile
 * setting's validation, and how the Claude Code adapter maps a session onto `--session-id` / `--resume`.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config';
import { claudeCodeAdapter } from '../../../src/plugins/agent/adapters/claude-code';
import { openWarmSession, sessionTaskOfEffect, warmSessionFor, warmSessionForEffect, WarmSessionError } from '../../../src/plugins/agent/session';
import { baseProfile, task } from './adapter-test-kit';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('warmSessionFor (pure)', () => {
  test('tasks 0..N-1 share generation 0, task N starts generation 1 with a new key and id', () => {
    const sessions = Array.from({ length: 7 }, (_, t) => warmSessionFor({ cardKey: 'builtin:b1:7', task: t, maxTasks: 3 }));
    expect(sessions.map((s) => [s.generation, s.taskInSession])).toEqual([
      [0, 0], [0, 1], [0, 2],
      [1, 0], [1, 1], [1, 2],
      [2, 0],
    ]);
    expect(new Set(sessions.slice(0, 3).map((s) => s.id)).size).toBe(1);
    expect(new Set(sessions.map((s) => s.id)).size).toBe(3);
    expect(new Set(sessions.map((s) => s.key)).size).toBe(3);
    for (const s of sessions) expect(s.id).toMatch(UUID_V5);
  });

  test('maxTasks 1 gives every task a fresh session', () => {
    const ids = [0, 1, 2].map((t) => warmSessionFor({ cardKey: 'c', task: t, maxTasks: 1 }));
    expect(ids.map((s) => s.taskInSession)).toEqual([0, 0, 0]);
    expect(new Set(ids.map((s) => s.id)).size).toBe(3);
  });

  test('deterministic: the same inputs give the same session', () => {
    expect(warmSessionFor({ cardKey: 'github:acme/w#12', task: 4, maxTasks: 3, scope: 'r1/implement' })).toEqual(
      warmSessionFor({ cardKey: 'github:acme/w#12', task: 4, maxTasks: 3, scope: 'r1/implement' }),
    );
  });

  test('property: two different (card, scope) pairs never share a session key or id, at any task', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), fc.nat(50), fc.nat(50), fc.integer({ min: 1, max: 12 }), (cardA, cardB, scopeA, scopeB, taskA, taskB, maxTasks) => {
        fc.pre(cardA !== '' && cardB !== '' && (cardA !== cardB || scopeA !== scopeB));
        const a = warmSessionFor({ cardKey: cardA, scope: scopeA, task: taskA, maxTasks });
        const b = warmSessionFor({ cardKey: cardB, scope: scopeB, task: taskB, maxTasks });
        expect(a.key).not.toBe(b.key);
        expect(a.id).not.toBe(b.id);
      }),
    );
  });

  test('card key and scope cannot be glued into another pair', () => {
    const a = warmSessionFor({ cardKey: 'builtin:b1:1 r1', scope: 'x', task: 0, maxTasks: 2 });
    const b = warmSessionFor({ cardKey: 'builtin:b1:1', scope: 'r1 x', task: 0, maxTasks: 2 });
    expect(a.key).not.toBe(b.key);
    expect(a.id).not.toBe(b.id);
  });

  test('rejects what has no sensible session', () => {
    expect(() => warmSessionFor({ cardKey: '', task: 0, maxTasks: 2 })).toThrow(WarmSessionError);
    expect(() => warmSessionFor({ cardKey: 'c', task: -1, maxTasks: 2 })).toThrow(WarmSessionError);
    expect(() => warmSessionFor({ cardKey: 'c', task: 1.5, maxTasks: 2 })).toThrow(WarmSessionError);
    expect(() => warmSessionFor({ cardKey: 'c', task: 0, maxTasks: 0 })).toThrow(WarmSessionError);
  });

  test('an agent effect ID gives its run and step as the scope and its round as the task', () => {
    expect(sessionTaskOfEffect('r2/agent/implement/3')).toEqual({ scope: 'r2/implement', task: 3 });
    expect(sessionTaskOfEffect('r1/agent/plan-and-test/0')).toEqual({ scope: 'r1/plan-and-test', task: 0 });
    // Anything else: a scope of its own, task 0 (a fresh session).
    expect(sessionTaskOfEffect('weird')).toEqual({ scope: 'weird', task: 0 });
    const round4 = warmSessionForEffect('builtin:b1:7', 'r1/agent/implement/4', { maxTasks: 3 });
    expect(round4).toMatchObject({ scope: 'r1/implement', generation: 1, taskInSession: 1 });
    // Another run or step of the same card is another session.
    expect(warmSessionForEffect('builtin:b1:7', 'r2/agent/implement/4', { maxTasks: 3 }).id).not.toBe(round4.id);
    expect(warmSessionForEffect('builtin:b1:7', 'r1/agent/review/4', { maxTasks: 3 }).id).not.toBe(round4.id);
  });
});

describe('openWarmSession (on disk)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'warm-session-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('reopening the same session gives the same directory, with its owner recorded', () => {
    const session = warmSessionFor({ cardKey: 'builtin:b1:1', scope: 'r1/implement', task: 0, maxTasks: 2 });
    const first = openWarmSession({ root, adapter: 'demo', session });
    fs.writeFileSync(path.join(first.dir, 'context.jsonl'), 'kept\n');
    const again = openWarmSession({ root, adapter: 'demo', session: warmSessionFor({ cardKey: 'builtin:b1:1', scope: 'r1/implement', task: 1, maxTasks: 2 }) });
    expect(again.dir).toBe(first.dir);
    expect(fs.readFileSync(path.join(again.dir, 'context.jsonl'), 'utf8')).toBe('kept\n');
    expect(JSON.parse(fs.readFileSync(path.join(first.dir, 'owner.json'), 'utf8'))).toEqual({ cardKey: 'builtin:b1:1', scope: 'r1/implement', generation: 0, id: session.id });
    expect(first.dir.startsWith(path.join(root, 'sessions', 'demo') + path.sep)).toBe(true);
  });

  test('two card keys that sanitise to the same name still get different directories', () => {
    // The activity's card directory replaces unusual characters with `_`: these two would share it.
    const a = openWarmSession({ root, adapter: 'demo', session: warmSessionFor({ cardKey: 'github:a/b#1', task: 0, maxTasks: 2 }) });
    const b = openWarmSession({ root, adapter: 'demo', session: warmSessionFor({ cardKey: 'github:a_b_1', task: 0, maxTasks: 2 }) });
    expect(a.dir).not.toBe(b.dir);
  });

  test('rotation: the next generation gets a new, empty directory and the old one is deleted', () => {
    const g0 = openWarmSession({ root, adapter: 'demo', session: warmSessionFor({ cardKey: 'c1', task: 1, maxTasks: 2 }) });
    fs.writeFileSync(path.join(g0.dir, 'context.jsonl'), 'old context\n');
    const g1 = openWarmSession({ root, adapter: 'demo', session: warmSessionFor({ cardKey: 'c1', task: 2, maxTasks: 2 }) });
    expect(g1.generation).toBe(1);
    expect(g1.dir).not.toBe(g0.dir);
    expect(fs.readdirSync(g1.dir)).toEqual(['owner.json']);
    expect(fs.existsSync(g0.dir)).toBe(false);
  });

  test('a directory whose owner record names another card is refused', () => {
    const session = warmSessionFor({ cardKey: 'c1', task: 0, maxTasks: 2 });
    const opened = openWarmSession({ root, adapter: 'demo', session });
    fs.writeFileSync(path.join(opened.dir, 'owner.json'), JSON.stringify({ cardKey: 'c2', scope: '', generation: 0, id: session.id }));
    expect(() => openWarmSession({ root, adapter: 'demo', session })).toThrow(/refusing to hand it over/);
  });
});

describe('profile setting', () => {
  const load = (agent: Record<string, unknown>) => loadConfig({ cwd: os.tmpdir(), env: {}, overrides: { agent } as never });

  test('cold by default; warm with maxTasks defaulting to 10', () => {
    expect(load({}).agent.session).toBeUndefined();
    expect(load({ session: { warm: true } }).agent.session).toEqual({ warm: true, maxTasks: 10 });
    expect(load({ session: { warm: true, maxTasks: 3 } }).agent.session).toEqual({ warm: true, maxTasks: 3 });
  });

  test('rejects a bad maxTasks, unknown keys, and adapters that cannot keep a warm session', () => {
    expect(() => load({ session: { warm: true, maxTasks: 0 } })).toThrow(ConfigError);
    expect(() => load({ session: { warm: true, maxTask: 3 } })).toThrow(ConfigError);
    expect(() => load({ adapter: 'codex', session: { warm: true } })).toThrow(/codex adapter cannot keep a warm session/);
    expect(load({ adapter: 'codex', session: { warm: false } }).agent.session?.warm).toBe(false);
  });
});

describe('Claude Code in a warm session', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'claude-warm-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const adapter = () => claudeCodeAdapter(baseProfile('claude-code'));
  const ctx = () => ({ taskFile: path.join(root, 'run/task.json'), runDir: path.join(root, 'run'), stateDir: path.join(root, 'state') });

  test('first task: --session-id <derived id>, config dir inside the session; later task: --resume <id>', () => {
    const session = openWarmSession({ root, adapter: 'claude-code', session: warmSessionFor({ cardKey: task.cardKey, task: 0, maxTasks: 2 }) });
    const first = adapter().invocation(task, { ...ctx(), session });
    expect(first.args[first.args.indexOf('--session-id') + 1]).toBe(session.id);
    expect(first.args).not.toContain('--resume');
    expect(first.env?.CLAUDE_CONFIG_DIR).toBe(path.join(session.dir, 'claude'));

    // Where Claude Code keeps the transcript: <config dir>/projects/<cwd key>/<session>.jsonl
    fs.mkdirSync(path.join(session.dir, 'claude', 'projects', '-work-tree'), { recursive: true });
    fs.writeFileSync(path.join(session.dir, 'claude', 'projects', '-work-tree', `${session.id}.jsonl`), '{}\n');
    const next = openWarmSession({ root, adapter: 'claude-code', session: warmSessionFor({ cardKey: task.cardKey, task: 1, maxTasks: 2 }) });
    const second = adapter().invocation(task, { ...ctx(), session: next });
    expect(second.args[second.args.indexOf('--resume') + 1]).toBe(session.id);
    expect(second.args).not.toContain('--session-id');
    expect(second.args.at(-1)).toMatch(/^This continues your earlier session on the same card/);

    // Rotated: a fresh id in a fresh config dir, nothing to resume.
    const rotated = openWarmSession({ root, adapter: 'claude-code', session: warmSessionFor({ cardKey: task.cardKey, task: 2, maxTasks: 2 }) });
    const third = adapter().invocation(task, { ...ctx(), session: rotated });
    expect(rotated.id).not.toBe(session.id);
    expect(third.args[third.args.indexOf('--session-id') + 1]).toBe(rotated.id);
    expect(third.args).not.toContain('--resume');
    expect(third.env?.CLAUDE_CONFIG_DIR).toBe(path.join(rotated.dir, 'claude'));
  });

  test('cold (no session): neither flag, the card state dir as before', () => {
    const cold = adapter().invocation(task, ctx());
    expect(cold.args).not.toContain('--session-id');
    expect(cold.args).not.toContain('--resume');
    expect(cold.env?.CLAUDE_CONFIG_DIR).toBe(path.join(root, 'state', 'claude'));
  });
});
