/**
 * Warm sessions with real agent processes (runAgent, no Temporal): the demo agent keeps its context in the
 * session directory it is given, so two cards interleaved on one worker each see only their own earlier tasks,
 * and a rotated session starts empty. Under the bwrap sandbox the agent can write its own session directory but
 * cannot see another card's, which lives in the same (hidden) data directory.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandAdapter, demoAgentAdapter, openWarmSession, runAgent, warmSessionFor, type AgentEvent, type AgentTask } from '../../../src/plugins/agent';
import { makeSandbox, makeTask, type Sandbox } from './helpers';

const MAX_TASKS = 2;
let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.remove());

/** One task of `card` (round = task number) through runAgent with the card's warm session; returns what it saw. */
async function runTask(card: { key: string; canary: string }, round: number, runs: { n: number }) {
  const data = join(box.root, 'data');
  const cardDir = join(data, 'runs', card.key.replace(/[^A-Za-z0-9_.-]/g, '_'));
  const session = openWarmSession({ root: cardDir, adapter: 'demo', session: warmSessionFor({ cardKey: card.key, scope: 'r1/implement', task: round, maxTasks: MAX_TASKS }) });
  const runDir = join(cardDir, `run-${++runs.n}`);
  const task: AgentTask = makeTask(box, { cardKey: card.key, title: `Card ${card.key}`, body: `secret ${card.canary}`, round, feedback: round > 0 ? [{ author: 'r', body: `round ${round} of ${card.canary}` }] : [] });
  const outcome = await runAgent({ adapter: demoAgentAdapter(), task, runDir, pidFile: join(box.root, 'card.pid'), session, signal: new AbortController().signal, silenceTimeoutMs: 30_000, sandbox: { mode: 'bwrap', hidden: [data] }, onEvent: () => {} });
  const seen = JSON.parse(readFileSync(join(runDir, 'seen.json'), 'utf8')) as { session: { id: string; task: number }; context: Array<{ cardKey: string; round: number }> };
  return { outcome, session, seen, text: readFileSync(join(runDir, 'seen.json'), 'utf8') };
}

test('two cards interleaved: each task sees only its own card, the session rotates after maxTasks', async () => {
  const a = { key: 'builtin:b1:1', canary: 'canary-a-8d1f' };
  const b = { key: 'builtin:b1:2', canary: 'canary-b-50c3' };
  const runs = { n: 0 };
  const a0 = await runTask(a, 0, runs);
  const b0 = await runTask(b, 0, runs);
  const a1 = await runTask(a, 1, runs);
  const b1 = await runTask(b, 1, runs);
  const a2 = await runTask(a, 2, runs);

  expect(a0.seen.context).toEqual([]);
  expect(b0.seen.context).toEqual([]);
  expect(a1.seen.context.map((e) => [e.cardKey, e.round])).toEqual([[a.key, 0]]);
  expect(b1.seen.context.map((e) => [e.cardKey, e.round])).toEqual([[b.key, 0]]);
  expect(a1.seen.session).toMatchObject({ id: a0.session.id, task: 1 });
  expect(a1.outcome.sessionId).toBe(a0.session.id);
  // Rotation: task 3 of A (maxTasks 2) is a fresh session with a new id.
  expect(a2.seen.context).toEqual([]);
  expect(a2.seen.session).toMatchObject({ id: a2.session.id, task: 0 });
  expect(a2.session.id).not.toBe(a0.session.id);
  for (const run of [a0, a1, a2]) expect(run.text).not.toContain(b.canary);
  for (const run of [b0, b1]) expect(run.text).not.toContain(a.canary);
});

const bwrapInstalled = (() => {
  try {
    execFileSync('bwrap', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

/** Writes its own session dir, then tries to list another card's (its path passed in OTHER). */
const PROBE = `
const fs = require('node:fs');
const report = (what, fn) => {
  let outcome;
  try { fn(); outcome = 'ok'; } catch (e) { outcome = e.code || e.message.split('\\n')[0]; }
  process.stdout.write(JSON.stringify({ type: 'progress', message: what + '=' + outcome }) + '\\n');
};
report('write-own-session', () => fs.appendFileSync(process.env.OUIJA_SESSION_DIR + '/context.jsonl', 'mine\\n'));
report('read-other-session', () => fs.readFileSync(process.env.OTHER + '/context.jsonl', 'utf8'));
`;

test('sandboxed: the agent writes its own session directory and cannot see another card’s', async () => {
  if (!bwrapInstalled) throw new Error('bwrap is not installed (apt-get install bubblewrap; .ci/run installs it)');
  const data = join(box.root, 'data');
  const other = openWarmSession({ root: join(data, 'runs', 'card-2'), adapter: 'command', session: warmSessionFor({ cardKey: 'builtin:b1:2', task: 0, maxTasks: MAX_TASKS }) });
  writeFileSync(join(other.dir, 'context.jsonl'), '{"body":"canary-b"}\n');
  const own = openWarmSession({ root: join(data, 'runs', 'card-1'), adapter: 'command', session: warmSessionFor({ cardKey: 'builtin:b1:1', task: 0, maxTasks: MAX_TASKS }) });
  const events: AgentEvent[] = [];
  const runDir = join(data, 'runs', 'card-1', 'run-1');
  await runAgent({
    adapter: commandAdapter({ command: process.execPath, args: ['-e', PROBE] }),
    task: makeTask(box, { cardKey: 'builtin:b1:1' }),
    runDir,
    pidFile: join(box.root, 'card.pid'),
    session: own,
    signal: new AbortController().signal,
    silenceTimeoutMs: 30_000,
    env: { OTHER: other.dir },
    sandbox: { mode: 'bwrap', hidden: [data] },
    onEvent: (e) => events.push(e),
  });
  const messages = events.filter((e) => e.type === 'progress').map((e) => (e as { message: string }).message);
  expect(messages).toEqual(expect.arrayContaining(['write-own-session=ok', 'read-other-session=ENOENT']));
  expect(readFileSync(join(own.dir, 'context.jsonl'), 'utf8')).toBe('mine\n');
});
