/**
 * Ouija spread over machines, as the production split runs it: this test process is `ouija api` plus the board and
 * notify workers; the workflows worker is `ouija worker -q workflows` in a process of its own; two agent hosts are
 * `ouija worker -q agents git` processes, each with a data directory of its own (as two machines would have), so
 * each is a host with its own task queues.
 *
 * 1. 20 cards on two repositories (two boards), 3 agents at once across both hosts, 4 cards in review per board, and
 *    the workflow worker restarted half-way: every workspace activity after a card's prepare runs on the host that
 *    prepared it (from the histories: the queue each was scheduled on and the worker that started it), never more
 *    than 3 agents run at once (from `agent_runs`' start and end times), never more than 4 cards of a board are in
 *    review, and each card reaches review once.
 * 2. A host SIGKILLed while its agents run: each of its cards moves to the other host and reaches review there
 *    exactly once, with one branch and one review request, and no agent process of the dead host is left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowIdForCard } from '../../../src/core/cards';
import type { CardState } from '../../../src/core/types';
import { git } from '../../../src/cli/local-repo';
import { TASK_QUEUES, hostQueue, limiterQuery, limiterWorkflowId } from '../../../workflows/messages';
import { stopKillableWorker, type KillableWorker } from '../../reliability/support/killable-process';
import { hostIdOfDataDir, hostOfQueue, placements, processesWithRunDirUnder, workerProcess as startWorker } from '../../support/hosts';
import { startHarness, type Harness } from '../../support/ouija-harness';

const MAX_AGENTS = 3;
const MAX_IN_REVIEW = 4;

let h: Harness;
let bundlePath: string;
let workflows: KillableWorker | undefined;
const hosts: Record<'a' | 'b', { dataDir: string; id: string; worker?: KillableWorker }> = { a: { dataDir: '', id: '' }, b: { dataDir: '', id: '' } };

const workerProcess = (queues: Array<'workflows' | 'agents' | 'git'>, dataDir: string) => startWorker(h, queues, dataDir, bundlePath);

beforeAll(async () => {
  h = await startHarness(
    {
      // Unsandboxed: the demo agents write marker files (start and end, with their pids) where this test reads them.
      agent: { maxConcurrent: MAX_AGENTS, heartbeatTimeoutMs: 3_000, sandbox: 'none' },
      activities: { heartbeatTimeoutMs: 3_000 },
      review: { maxCards: MAX_IN_REVIEW },
      // The kill test's board waits for nobody's approval: room for all its cards in review.
      boards: { kill: { review: { maxCards: 10 } } },
      workers: { hostLostAfterMs: 4_000 },
    },
    { queues: ['board', 'notify'], extraRemotes: 1 },
  );
  bundlePath = path.join(h.workDir, 'workflows.js');
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../../workflows'), logger: new DefaultLogger('WARN') });
  fs.writeFileSync(bundlePath, bundle.code);
  workflows = await workerProcess(['workflows'], path.join(h.workDir, 'workflows-host'));
  for (const name of ['a', 'b'] as const) {
    hosts[name].dataDir = path.join(h.workDir, `host-${name}`);
    hosts[name].id = hostIdOfDataDir(hosts[name].dataDir);
    hosts[name].worker = await workerProcess(['agents', 'git'], hosts[name].dataDir);
  }
});
afterAll(async () => {
  await Promise.all([workflows, ...Object.values(hosts).map((host) => host.worker)].map((w) => (w ? stopKillableWorker(w) : undefined)));
  await h?.stop();
});

interface Card {
  cardId: string;
  cardKey: string;
  version: number;
  marker: string;
}

async function newBoard(id: string, repo: string): Promise<void> {
  const board = await h.api('POST', '/api/boards', { id, name: `board ${id}`, repo });
  expect(board.status).toBe(201);
}

async function newCard(boardId: string, title: string, directives: string): Promise<Card> {
  const marker = path.join(h.workDir, `${boardId}-${title.replace(/\W+/g, '-')}.marker`);
  const created = await h.api('POST', `/api/boards/${boardId}/cards`, { title, body: `ouija-demo: ${directives} marker=${marker}` });
  expect(created.status).toBe(201);
  return { cardId: created.body.id, cardKey: `builtin:${boardId}:${created.body.id}`, version: created.body.version, marker };
}

async function move(card: Card): Promise<void> {
  const moved = await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  expect(moved.body.dispatch.status).toBe('accepted');
}

async function phases(cards: Card[]): Promise<Map<string, CardState>> {
  const states = await Promise.all(cards.map((c) => h.state(c.cardKey).catch(() => null)));
  return new Map(cards.flatMap((c, i) => (states[i] ? [[c.cardKey, states[i]!] as const] : [])));
}

/** The most agents that ran at once, from the `agent_runs` rows of `cardKeys` (start and end of each process). */
async function mostAgentsAtOnce(cardKeys: string[]): Promise<number> {
  const runs = await h.ouija.db.selectFrom('agent_runs').select(['started_at', 'ended_at']).where('card_key', 'in', cardKeys).execute();
  const edges = runs.flatMap((r) => [
    { at: r.started_at.getTime(), delta: 1 },
    { at: (r.ended_at ?? new Date()).getTime(), delta: -1 },
  ]);
  // Ends before starts at the same instant: a slot handed on is not two agents at once.
  edges.sort((x, y) => x.at - y.at || x.delta - y.delta);
  let running = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (running += edge.delta));
  return most;
}

/** What a limiter holds and who waits (null when it is not running). */
async function limiterState(limiter: string): Promise<unknown> {
  try {
    return await h.ouija.temporal.workflow.getHandle(limiterWorkflowId(limiter)).query(limiterQuery);
  } catch (err) {
    return `not answering: ${(err as Error).message}`;
  }
}

/** Stops the workflow worker process and starts another (the limiters' and the cards' workflows replay there). */
async function restartWorkflowWorker(): Promise<void> {
  await stopKillableWorker(workflows!);
  workflows = await workerProcess(['workflows'], path.join(h.workDir, 'workflows-host'));
}

test('20 cards on two repositories across two hosts: one host per card, 3 agents at once, 4 in review per board', async () => {
  await newBoard('repo1', h.remotes[0]!);
  await newBoard('repo2', h.remotes[1]!);
  const cards: Card[] = [];
  for (let i = 0; i < 20; i++) cards.push(await newCard(i % 2 === 0 ? 'repo1' : 'repo2', `card ${i}`, 'sleep=600 heartbeat=200'));
  for (const card of cards) await move(card);

  // Approve cards as they reach review (a reviewer working through the queue), watching the review limit.
  const approved = new Set<string>();
  let mostInReview = 0;
  let restarted = false;
  const deadline = Date.now() + 240_000;
  while (approved.size < cards.length) {
    const states = await phases(cards);
    if (Date.now() > deadline) {
      const stuck = cards.filter((c) => !approved.has(c.cardKey)).map((c) => JSON.stringify(states.get(c.cardKey) ?? null));
      const limiters = await Promise.all(['agents', 'review:builtin:repo1', 'review:builtin:repo2'].map(async (l) => `${l}: ${JSON.stringify(await limiterState(l))}`));
      throw new Error(`only ${approved.size} of ${cards.length} cards were approved in time; not approved: ${stuck.join('\n')}\nlimiters: ${limiters.join('\n')}`);
    }
    for (const board of ['repo1', 'repo2']) {
      const inReview = [...states.values()].filter((s) => s.card.ref.boardId === board && s.phase === 'review').length;
      mostInReview = Math.max(mostInReview, inReview);
    }
    const failed = [...states.values()].filter((s) => s.phase === 'failed');
    expect(failed.map((s) => `${s.card.key}: ${s.lastError}`)).toEqual([]);
    if (!restarted && approved.size >= 8) {
      await restartWorkflowWorker();
      restarted = true;
    }
    const ready = cards.filter((c) => states.get(c.cardKey)?.phase === 'review' && !approved.has(c.cardKey));
    // Slowly: cards wait in review long enough for the limit to bite.
    for (const card of ready.slice(0, 2)) {
      const res = await h.api('POST', `/api/cards/${card.cardId}/approve`, { by: 'reviewer' });
      expect(res.status).toBeLessThan(300);
      approved.add(card.cardKey);
    }
    await new Promise((r) => setTimeout(r, 700));
  }
  expect(restarted).toBe(true);
  expect(mostInReview).toBeLessThanOrEqual(MAX_IN_REVIEW);
  expect(mostInReview).toBeGreaterThanOrEqual(2); // the limit was reached for, not vacuous
  expect(await mostAgentsAtOnce(cards.map((c) => c.cardKey))).toBeLessThanOrEqual(MAX_AGENTS);

  const usedHosts = new Set<string>();
  for (const card of cards) {
    const final = await h.ouija.temporal.workflow.getHandle(workflowIdForCard(card.cardKey)).result();
    expect((final as CardState).phase).toBe('done');
    const placed = await placements(h, card.cardKey);
    const [prepare, ...rest] = placed;
    expect(prepare).toMatchObject({ type: 'prepareWorkspace', queue: TASK_QUEUES.git });
    const host = hostOfQueue(rest[0]!.queue)!;
    expect([hosts.a.id, hosts.b.id]).toContain(host);
    usedHosts.add(host);
    for (const later of rest) {
      expect([hostQueue(host, 'git'), hostQueue(host, 'agents')]).toContain(later.queue);
      expect(later.worker).toBe(prepare!.worker);
    }
    expect(rest.map((p) => p.type)).toEqual(['runAgent', 'publish', 'cleanupWorkspace']);
  }
  // Both hosts took cards from the shared queue.
  expect(usedHosts.size).toBe(2);
  // Cleanup ran where the worktrees were: none is left on either host.
  for (const host of Object.values(hosts)) {
    const dir = path.join(host.dataDir, 'workspaces', 'worktrees');
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  }
}, 300_000);

test('a host SIGKILLed while its agents run: its cards move to the other host and reach review there once', async () => {
  await newBoard('kill', h.remotes[0]!);
  const cards: Card[] = [];
  for (let i = 0; i < 6; i++) cards.push(await newCard('kill', `doomed ${i}`, 'sleep=6000 heartbeat=300'));
  for (const card of cards) await move(card);

  // Wait until host A holds worktrees and at least one of its agents is running (its marker says it started).
  const onA = (s: CardState) => s.workspace?.host === hosts.a.id;
  let victims: Card[] = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const states = await phases(cards);
    victims = cards.filter((c) => states.get(c.cardKey) && onA(states.get(c.cardKey)!));
    const running = victims.filter((c) => states.get(c.cardKey)?.phase === 'working' && starts(c.marker).length > 0);
    if (running.length > 0) break;
    if (Date.now() > deadline) throw new Error('no agent ever ran on host A');
    await new Promise((r) => setTimeout(r, 100));
  }
  const agentPidsOnA = victims.flatMap((c) => starts(c.marker).map((line) => Number(line.split(' ')[2])));
  hosts.a.worker!.proc.kill('SIGKILL');
  await hosts.a.worker!.exited;

  const settled = new Map<string, CardState>();
  for (const card of cards) {
    const s = await h.waitFor(card.cardKey, (state) => state.phase === 'review' || state.phase === 'failed', `${card.cardKey} in review`, 120_000);
    settled.set(card.cardKey, s);
  }
  expect([...settled.values()].map((s) => s.phase)).toEqual(cards.map(() => 'review'));
  for (const card of victims) {
    const s = settled.get(card.cardKey)!;
    expect(s.workspace?.host).toBe(hosts.b.id);
    expect(s.moves).toBe(1);
    // One review request and one branch for the card.
    const requests = await h.ouija.db.selectFrom('review_requests').select(['branch']).where('card_key', '=', card.cardKey).execute();
    expect(requests).toHaveLength(1);
    const branches = (await git(h.remotes[0]!, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/ouija/')).split('\n').filter((b) => b.startsWith(`ouija/${card.cardId}-`));
    expect(branches).toEqual([s.workspace!.branch]);
    // Reached review once: one publish in the history.
    const placed = await placements(h, card.cardKey);
    expect(placed.filter((p) => p.type === 'publish')).toHaveLength(1);
    expect(placed.filter((p) => p.type === 'publish')[0]!.queue).toBe(hostQueue(s.workspace!.host!, 'git'));
  }
  // No agent process of the dead host outlived it.
  expect(agentPidsOnA.filter(isAlive)).toEqual([]);
  expect(processesWithRunDirUnder(hosts.a.dataDir)).toEqual([]);
}, 240_000);

function starts(marker: string): string[] {
  return fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\n').filter((l) => l.startsWith('start ')) : [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
