/**
 * Live progress and costs, end to end: the agent's events reach Postgres while it runs and stream out of
 * `GET /api/cards/:cardKey/events` (SSE, resumable from Last-Event-ID), `ouija logs [--follow]` prints them,
 * and the card's token and cost totals show in the board API, the usage route and `ouija status`.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { readServerSentEvents } from '../../../src/cli/sse';
import type { AgentEventJson } from '../../../src/cli/logs';
import { runCli } from '../../support/run-cli';
import { startHarness, type Harness } from '../../support/ouija-harness';
import { logsCliArgv } from './logs-cli';

let h: Harness;
let env: Record<string, string>;
beforeAll(async () => {
  h = await startHarness();
  env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: h.config.temporal.namespace, OUIJA_URL: h.ouija.url! };
});
afterAll(async () => h?.stop());

function childEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', OUIJA_LOG_LEVEL: 'warn', ...env };
}

/** `ouija logs …` as a real process. */
async function logsCli(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, logsCliArgv(args), { env: childEnv(), timeout: 60_000 });
  return stdout;
}

async function startCard(title: string, body: string) {
  const card = await h.newCard(title, body);
  await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  return card;
}

/** Reads an SSE stream until `done` says so; returns the events and the card's phase when the first arrived. */
async function readStream(url: string, headers: Record<string, string>, cardKey: string, done: (e: AgentEventJson) => boolean) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: AgentEventJson[] = [];
  const ids: string[] = [];
  let phaseAtFirst: string | undefined;
  for await (const message of readServerSentEvents(res.body!)) {
    const event = JSON.parse(message.data) as AgentEventJson;
    if (events.length === 0) phaseAtFirst = (await h.state(cardKey)).phase;
    events.push(event);
    ids.push(message.id ?? '');
    if (done(event)) break;
  }
  controller.abort();
  return { events, ids, phaseAtFirst };
}

test('events stream live while the agent works, resume from Last-Event-ID, and usage adds up', async () => {
  const card = await startCard('Slow and chatty', 'ouija-demo: sleep=3000 heartbeat=100');
  const url = `${h.ouija.url}/api/cards/${encodeURIComponent(card.cardKey)}/events`;
  const live = await readStream(url, {}, card.cardKey, (e) => e.type === 'result');

  // Live: the first event came while the agent was still at work, not after the run was over.
  expect(live.phaseAtFirst).toBe('working');
  expect(live.events.map((e) => e.seq.toString())).toEqual(live.ids);
  const seqs = live.events.map((e) => e.seq);
  expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  expect(live.events.every((e) => e.step === 'implement' && e.attempt === 1 && e.agent === 'demo')).toBe(true);
  const messages = live.events.map((e) => e.message);
  expect(messages).toContain(`demo agent: implement for ${card.cardKey}, round 0`);
  expect(messages).toContain('working for 3000 ms');
  expect(live.events.at(-1)).toMatchObject({ type: 'result', message: expect.stringMatching(/^wrote ouija-notes\/.+ and committed/) });
  // Heartbeat lines are signs of life, not progress: ~30 of them were printed, none was stored.
  expect(live.events.length).toBeLessThan(12);

  // A reconnecting EventSource sends the last id it saw and gets only what followed.
  const resumed = await readStream(url, { 'last-event-id': String(seqs[1]) }, card.cardKey, (e) => e.type === 'result');
  expect(resumed.events.map((e) => e.seq)).toEqual(seqs.slice(2));
  // The same page as JSON, from ?after=.
  const page = await h.api('GET', `/api/cards/${encodeURIComponent(card.cardKey)}/events?after=${seqs[0]}`, undefined, { accept: 'application/json' });
  expect(page.body.events.map((e: AgentEventJson) => e.seq)).toEqual(seqs.slice(1));
  expect(page.body.next).toBe(seqs.at(-1));
  expect((await h.api('GET', '/api/cards/not-a-card-key/events')).status).toBe(400);
  expect((await h.api('GET', `/api/cards/${encodeURIComponent(card.cardKey)}/events?after=-1`)).status).toBe(400);

  // Costs: the demo agent reports tokens (and a cost of 0); the card's totals are in the board API.
  await h.waitFor(card.cardKey, (s) => s.phase === 'review', 'the card in review');
  const boardCard = await h.api('GET', `/api/cards/${card.cardId}`);
  expect(boardCard.body.usage).toMatchObject({ runs: 1, costUsd: 0, runsWithoutCost: 0 });
  expect(boardCard.body.usage.tokensIn).toBeGreaterThan(0);
  expect(boardCard.body.usage.tokensOut).toBeGreaterThan(0);
  const usage = await h.api('GET', `/api/cards/${encodeURIComponent(card.cardKey)}/usage`);
  expect(usage.body).toEqual({ card: card.cardKey, usage: boardCard.body.usage });

  // The operator's view of the same: `ouija logs` and `ouija status`.
  const lines = (await logsCli([card.cardKey])).trim().split('\n');
  expect(lines).toHaveLength(seqs.length);
  expect(lines.at(-1)).toMatch(/ implement#1 result +wrote ouija-notes\//);
  const json = await logsCli([card.cardKey, '--json', '--after', String(seqs[0])]);
  expect(json.trim().split('\n').map((l) => (JSON.parse(l) as AgentEventJson).seq)).toEqual(seqs.slice(1));
  const status = await runCli(['status', card.cardKey], env);
  expect(status.stdout).toMatch(new RegExp(`usage +1 agent runs, ${boardCard.body.usage.tokensIn} tokens in, ${boardCard.body.usage.tokensOut} out, \\$0\\.0000`));
});

test('`ouija logs --follow` prints events as the agent prints them', async () => {
  const card = await startCard('Followed', 'ouija-demo: sleep=2500 heartbeat=200');
  const child = spawn(process.execPath, logsCliArgv([card.cardKey, '--follow']), { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const seen: Array<{ line: string; phase: string }> = [];
    for await (const line of createInterface({ input: child.stdout })) {
      seen.push({ line, phase: (await h.state(card.cardKey)).phase });
      if (/ result +/.test(line)) break;
    }
    expect(seen.some((s) => s.line.includes('working for 2500 ms') && s.phase === 'working')).toBe(true);
    expect(seen.at(-1)!.line).toMatch(/ implement#1 result +wrote ouija-notes\//);
    // --follow does not end by itself: it keeps waiting for the next run's events.
    expect(child.exitCode).toBeNull();
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  }
});

test('a failed attempt still counts what it reported spending, and its stderr is in the log', async () => {
  // An agent that reports its usage, then fails: every attempt cost money all the same.
  const script = `console.log(JSON.stringify({ type: 'result', summary: 'gave up', tokens: { input: 10, output: 4 }, costUsd: 0.25 }));
console.error('out of ideas'); process.exit(2);`;
  const failing = await startHarness({ agent: { command: process.execPath, args: ['-e', script], maxAttempts: 2 } });
  try {
    const card = await failing.newCard('Costly failure');
    await failing.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
    await failing.waitFor(card.cardKey, (s) => s.phase === 'failed', 'the card failed');
    const usage = await failing.api('GET', `/api/cards/${encodeURIComponent(card.cardKey)}/usage`);
    expect(usage.body.usage).toEqual({ runs: 2, tokensIn: 20, tokensOut: 8, costUsd: 0.5, runsWithoutCost: 0 });
    const page = await failing.api('GET', `/api/cards/${encodeURIComponent(card.cardKey)}/events`, undefined, { accept: 'application/json' });
    // (stdout and stderr are separate pipes: within an attempt their lines may interleave either way)
    expect(page.body.events.map((e: AgentEventJson) => `${e.attempt} ${e.type} ${e.message}`).sort()).toEqual([
      '1 result gave up',
      '1 stderr out of ideas',
      '2 result gave up',
      '2 stderr out of ideas',
    ]);
  } finally {
    await failing.stop();
  }
});
