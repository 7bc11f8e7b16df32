/**
 * Scenario 13, a host lost mid-run: two agent hosts (`ouija worker -q agents git` processes with data directories
 * of their own, as two machines); the harness keeps the workflows, board and notify workers and the HTTP front end.
 * `host-cards` cards (default 20, `host-agent-ms` 5000 of demo agent each, `host-max-agents` 8 at once across the
 * cluster) are moved to work; once `host-kill-after-agents` (3) agents run on host A it is SIGKILLed and never
 * comes back. Expected, from independent evidence beside Ouija's own state:
 * - every card reaches review, each exactly once: one completed publish in its history, one review request, one
 *   branch on the remote;
 * - the cards whose agents ran on A when it died moved (moves 1), and only cards that had worked on A moved: before
 *   the move their activities went to A's queues, after it to B's (the queue each activity was scheduled on, from the
 *   history);
 * - every card's agent finished exactly once (the demo agent's marker file: one `end` line), and no process of A's
 *   agents is left (`/proc`, by their run directory);
 * - how long the moved cards took from the kill to review (the host-lost timeout is `host-lost-after-ms`, 4000,
 *   after a heartbeat timeout of 3000).
 * Non-default settings: agent.maxConcurrent, agent/activities.heartbeatTimeoutMs 3000, workers.hostLostAfterMs,
 * agent.sandbox "none" (the marker files are written outside the worktree, where the sandbox would hide them).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CardState } from '../../../src/core/types';
import { git } from '../../../src/cli/local-repo';
import { hostOfQueue, hostIdOfDataDir, placements, processesWithRunDirUnder, workerProcess } from '../../support/hosts';
import { workersOf, type Harness } from '../../support/ouija-harness';
import { stopKillableWorker, type KillableWorker } from '../support/killable-process';
import type { Row } from '../report';
import { readMarker } from './agent-evidence';
import { size, type Params, type Scenario } from './scenario';
import { pool, sleep } from './send';

export const hostLost: Scenario = {
  name: 'host-lost',
  overrides: (params: Params) => ({
    agent: { maxConcurrent: size(params, 'host-max-agents', 8), heartbeatTimeoutMs: 3_000, sandbox: 'none' },
    activities: { heartbeatTimeoutMs: 3_000 },
    workers: { hostLostAfterMs: size(params, 'host-lost-after-ms', 4_000) },
  }),
  async run({ harness: h, params }) {
    const count = size(params, 'host-cards', 20);
    const agentMs = size(params, 'host-agent-ms', 5_000);
    const killAfter = size(params, 'host-kill-after-agents', 3);
    if (count < 2 || killAfter < 1) throw new Error('host-lost needs at least 2 cards and a kill after at least 1 agent');

    // The harness's own host takes no part: the two hosts are processes of their own.
    await Promise.all([...workersOf(h, 'agents'), ...workersOf(h, 'git')].map((w) => w.shutdown()));
    const dirs = { a: path.join(h.workDir, 'host-a'), b: path.join(h.workDir, 'host-b') };
    const ids = { a: hostIdOfDataDir(dirs.a), b: hostIdOfDataDir(dirs.b) };
    const hostA: KillableWorker = await workerProcess(h, ['agents', 'git'], dirs.a);
    const hostB: KillableWorker = await workerProcess(h, ['agents', 'git'], dirs.b);
    try {
      const board = await h.api('POST', '/api/boards', { id: 'hosts', name: 'Hosts', repo: h.remote });
      if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
      const cards = await pool(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
        const marker = path.join(h.workDir, `host-${i}.marker`);
        const card = await h.api('POST', '/api/boards/hosts/cards', { title: `Host ${i}`, body: `ouija-demo: sleep=${agentMs} heartbeat=300 marker=${marker}` });
        if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
        return { cardId: card.body.id as string, cardKey: `builtin:hosts:${card.body.id}`, version: card.body.version as number, marker };
      });
      await pool(cards, 8, async (c) => {
        const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
        if (moved.body.dispatch?.status !== 'accepted') throw new Error(`move: ${JSON.stringify(moved.body)}`);
      });

      // Kill A once `killAfter` of its agents are running.
      const deadline = Date.now() + 120_000;
      let runningOnA: typeof cards = [];
      for (;;) {
        const states = await statesOf(h, cards);
        // Working on A with an agent that started and has not finished: it dies with A.
        runningOnA = cards.filter((c) => {
          const lines = readMarker(c.marker);
          return states.get(c.cardKey)?.workspace?.host === ids.a && states.get(c.cardKey)?.phase === 'working' && lines.some((l) => l.what === 'start') && !lines.some((l) => l.what === 'end');
        });
        if (runningOnA.length >= killAfter) break;
        if (Date.now() > deadline) throw new Error(`only ${runningOnA.length} agents ever ran on host A at once`);
        await sleep(100);
      }
      hostA.proc.kill('SIGKILL');
      await hostA.exited;
      const killedAt = Date.now();
      const runningAtKill = new Set(runningOnA.map((c) => c.cardKey));

      const settled = new Map<string, CardState>();
      const reviewedAt = new Map<string, number>();
      await pool(cards, 8, async (c) => {
        const state = await h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', `${c.cardKey} in review`, 240_000);
        settled.set(c.cardKey, state);
        reviewedAt.set(c.cardKey, Date.now());
      });

      const inReviewOnce: string[] = [];
      const movedRight: string[] = [];
      const finishedOnce: string[] = [];
      const movedCards = new Set<string>();
      for (const c of cards) {
        const s = settled.get(c.cardKey)!;
        const placed = await placements(h, c.cardKey);
        const publishes = placed.filter((p) => p.type === 'publish');
        const requests = await h.ouija.db.selectFrom('review_requests').select('id').where('card_key', '=', c.cardKey).execute();
        const branches = (await git(h.remote, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/ouija/')).split('\n').filter((b) => b.startsWith(`ouija/${c.cardId}-`));
        if (s.phase !== 'review' || publishes.length !== 1 || requests.length !== 1 || branches.length !== 1) {
          inReviewOnce.push(`${c.cardKey}: ${s.phase}, ${publishes.length} publish, ${requests.length} review request(s), ${branches.length} branch(es)`);
        }
        // Which card moved is decided after the fact (a card may have reached A between the last look and the kill).
        if ((s.moves ?? 0) > 0) {
          movedCards.add(c.cardKey);
          const moveAt = placed.findIndex((p) => p.activityId.endsWith('/m1'));
          const before = placed.slice(0, Math.max(0, moveAt)).map((p) => hostOfQueue(p.queue)).filter((host) => host !== undefined);
          const after = moveAt < 0 ? [] : placed.slice(moveAt).map((p) => hostOfQueue(p.queue)).filter((host) => host !== undefined);
          if (s.moves !== 1 || s.workspace?.host !== ids.b || moveAt < 0 || before.some((host) => host !== ids.a) || after.some((host) => host !== ids.b)) {
            movedRight.push(`${c.cardKey}: moves ${s.moves}, host ${s.workspace?.host}, before the move on ${[...new Set(before)].join('+')}, after on ${[...new Set(after)].join('+')}`);
          }
        } else if (runningAtKill.has(c.cardKey)) {
          movedRight.push(`${c.cardKey}: its agent ran on A at the kill, yet it did not move`);
        }
        const ends = readMarker(c.marker).filter((l) => l.what === 'end').length;
        if (ends !== 1) finishedOnce.push(`${c.cardKey}: ${ends} finishes`);
      }
      const leftovers = processesWithRunDirUnder(dirs.a);
      const recovery = [...movedCards].map((key) => (reviewedAt.get(key)! - killedAt) / 1000).sort((x, y) => x - y);

      const rows: Row[] = [
        {
          scenario: '13 host lost: every card in review once',
          runs: count,
          expected: `${count} in review, each with 1 publish, 1 review request, 1 branch`,
          observed: inReviewOnce.length === 0 ? `${count} in review, once each` : `${inReviewOnce.length} off: ${inReviewOnce.slice(0, 3).join('; ')}`,
          pass: inReviewOnce.length === 0,
        },
        {
          scenario: '13 host lost: the dead host\'s cards moved to the live one',
          runs: movedCards.size,
          expected: `the ${killAfter}+ cards working on A moved once, from A's queues to B's; no other card moved`,
          observed: movedRight.length === 0 ? `${movedCards.size} moved A → B (${runningAtKill.size} with an agent running at the kill), ${count - movedCards.size} stayed` : movedRight.slice(0, 3).join('; '),
          pass: movedRight.length === 0 && runningAtKill.size >= killAfter,
        },
        {
          scenario: '13 host lost: agents finished once per card (marker files)',
          runs: count,
          expected: '1 finish per card; no process of the dead host\'s agents left',
          observed: `${finishedOnce.length} cards off${finishedOnce.length ? ` (${finishedOnce.slice(0, 3).join('; ')})` : ''}; ${leftovers.length} leftover processes`,
          pass: finishedOnce.length === 0 && leftovers.length === 0,
        },
        {
          scenario: '13 host lost: time from the kill to review (moved cards)',
          runs: recovery.length,
          expected: 'reported (heartbeat timeout 3 s + host-lost timeout, then the round again)',
          observed: recovery.length ? `median ${recovery[Math.floor(recovery.length / 2)]!.toFixed(1)} s, max ${recovery.at(-1)!.toFixed(1)} s` : 'none moved',
          pass: recovery.length > 0,
        },
      ];
      return rows;
    } finally {
      await Promise.all([stopKillableWorker(hostA), stopKillableWorker(hostB)]);
      fs.rmSync(dirs.a, { recursive: true, force: true });
    }
  },
};

async function statesOf(h: Harness, cards: Array<{ cardKey: string }>): Promise<Map<string, CardState>> {
  const states = await pool(cards, 8, async (c) => [c.cardKey, await h.state(c.cardKey).catch(() => null)] as const);
  return new Map(states.filter((entry): entry is readonly [string, CardState] => entry[1] !== null));
}

