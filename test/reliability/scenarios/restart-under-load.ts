/**
 * The Temporal restart scenarios' one flow (scenario 8 on a dev server, 12 on the real cluster): an Ouija (workers
 * and HTTP in this process) on a Temporal server the scenario controls; `cards` cards moved to work, with demo
 * agents that take `agentMs` each and log every process they start to a marker file of the card's (outside every
 * worktree); `afterMs` after the first move (later, up to `killWaitS`, until `killWhenAgents` agents run: with cards
 * in every phase), the server is SIGKILLed and, `downMs` later,
 * started again on the same port and state. Nothing else is done: workers and clients must reconnect by
 * themselves. Expected: every card reaches review (workflow and board) within `deadlineS` of the first move, each
 * exactly once (run 1; one publish and one move to review in its history; one branch and one review request);
 * the agent processes the marker files saw are the agent runs Ouija recorded, card by card; /readyz says 503
 * during the outage and 200 after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { workflowIdForCard } from '../../../src/core/cards';
import { git } from '../../../src/cli/local-repo';
import { listAgentRuns } from '../../../src/db';
import type { Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import { readMarker, scheduledActivities } from './agent-evidence';
import { pool, sleep } from './send';

export interface RestartableTemporal {
  /** What the server is, for the table ("dev server", "cluster"). */
  kind: string;
  address: string;
  /** SIGKILL the server (a crash); resolves once it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port and state; resolves once it answers. */
  start(): Promise<void>;
}

export interface RestartSizes {
  cards: number;
  agentMs: number;
  afterMs: number;
  downMs: number;
  deadlineS: number;
  /** The kill waits, after `afterMs`, until this many agents run (the markers say), for up to `killWaitS`. */
  killWhenAgents: number;
  killWaitS: number;
}

export async function restartUnderLoad(o: { label: string; temporal: RestartableTemporal; harness: Harness; sizes: RestartSizes }): Promise<Row[]> {
  const { label, temporal, sizes } = o;
  const h = o.harness;
  const markers = path.join(h.workDir, 'markers'); // outside every worktree (those are under data/)
  fs.mkdirSync(markers, { recursive: true });
  const board = await h.api('POST', '/api/boards', { id: 'restart', name: 'Restart', repo: h.remote });
  if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
  const cards = await pool(Array.from({ length: sizes.cards }, (_, i) => i), 8, async (i) => {
    const marker = path.join(markers, `card-${i}.log`);
    const card = await h.api('POST', '/api/boards/restart/cards', { title: `Restart ${i}`, body: `ouija-demo: sleep=${sizes.agentMs} marker=${marker}` });
    if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
    return { cardId: card.body.id as string, cardKey: `builtin:restart:${card.body.id}`, version: card.body.version as number, marker };
  });

  const started = Date.now();
  await pool(cards, 8, async (c) => {
    const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
    if (moved.status !== 200 || moved.body.dispatch?.status !== 'accepted') throw new Error(`move: ${JSON.stringify(moved.body)}`);
  });
  await sleep(Math.max(0, sizes.afterMs - (Date.now() - started)));
  // A loaded machine may still be preparing every card by then: the kill waits (up to `killWaitS`) for agents to
  // be running, by the markers' evidence, so that it hits cards in every phase.
  const agentsRunning = () =>
    cards.filter((c) => {
      const lines = readMarker(c.marker);
      return lines.filter((l) => l.what === 'start').length > lines.filter((l) => l.what === 'end').length;
    }).length;
  const killBy = Date.now() + sizes.killWaitS * 1000;
  while (agentsRunning() < Math.min(sizes.killWhenAgents, cards.length) && Date.now() < killBy) await sleep(100);

  // Where the cards are when the server dies.
  const agentsRunningAtKill = agentsRunning();
  const phasesAtKill = tally(await pool(cards, 8, async (c) => (await h.state(c.cardKey).catch(() => null))?.phase ?? 'unknown'));
  const killAfterS = ((Date.now() - started) / 1000).toFixed(1);
  const killedAt = Date.now();
  await temporal.kill();
  const reapedMs = Date.now() - killedAt;
  await sleep(Math.max(0, sizes.downMs / 2));
  // Not awaited here: the probe may take long to answer while Temporal is down, and the restart keeps its time.
  const probeAt = Date.now();
  const readyProbe = h.api('GET', '/readyz').then(
    (r) => ({ status: r.status, ms: Date.now() - probeAt }),
    () => ({ status: 0, ms: Date.now() - probeAt }),
  );
  await sleep(Math.max(0, sizes.downMs - (Date.now() - killedAt)));
  const relaunchedAt = Date.now();
  await temporal.start();
  const restartedAt = Date.now();
  const readyDuring = await readyProbe;
  const downS = `${((restartedAt - killedAt) / 1000).toFixed(1)} s (reaped in ${reapedMs} ms, ${((restartedAt - relaunchedAt) / 1000).toFixed(1)} s to ready)`;

  // Wait for every card, with nothing but time.
  const deadline = started + sizes.deadlineS * 1000;
  let readyAfter = 0;
  let settled: Array<{ phase: string; column: string; version: number }> = [];
  let firstReviewAfterRestart: number | null = null;
  let reviewedAtRestart = -1;
  for (;;) {
    settled = await pool(cards, 8, async (c) => {
      const state = await h.state(c.cardKey).catch(() => null);
      const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
      return { phase: state?.phase ?? 'unknown', column: card.columnKey as string, version: card.version as number };
    });
    const done = settled.filter((s) => s.phase === 'review' && s.column === 'review').length;
    if (reviewedAtRestart < 0) reviewedAtRestart = done;
    else if (firstReviewAfterRestart === null && done > reviewedAtRestart) firstReviewAfterRestart = Date.now();
    if (readyAfter !== 200) readyAfter = (await h.api('GET', '/readyz')).status;
    if (done === cards.length || Date.now() > deadline) break;
    await sleep(1_000);
  }
  const totalS = Math.round((Date.now() - started) / 1000);
  const inReview = settled.filter((s) => s.phase === 'review' && s.column === 'review').length;

  const branches = (await git(h.remote, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')).split('\n').filter((b) => b && b !== 'main');
  const reviewRows = await h.database.db.selectFrom('review_requests').select(['card_key']).execute();
  const perCard = await pool(cards, 8, async (c, i) => {
    const handle = h.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey));
    const state = await h.state(c.cardKey).catch(() => null);
    const { scheduled, movesToReview } = await scheduledActivities(h, c.cardKey);
    const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey, limit: 50 });
    const lines = readMarker(c.marker);
    const pending = settled[i]!.phase === 'review' ? [] : ((await handle.describe()).raw.pendingActivities ?? []).map((p) => `${p.activityType?.name} attempt ${p.attempt}`);
    return {
      card: c.cardKey,
      ...settled[i]!,
      run: state?.run,
      runAgent: scheduled.runAgent ?? 0,
      publish: scheduled.publish ?? 0,
      movesToReview,
      agentAttempts: runs.length,
      succeeded: runs.filter((r) => r.outcome === 'succeeded').length,
      markerStarts: lines.filter((l) => l.what === 'start').length,
      markerEnds: lines.filter((l) => l.what === 'end').length,
      branch: state?.workspace?.branch !== undefined && branches.includes(state.workspace.branch),
      reviewRequests: reviewRows.filter((r) => r.card_key === c.cardKey).length,
      pending,
      attempts: runs.map((r) => `${r.attempt}:${r.outcome ?? 'no end'}${r.summary ? ` (${r.summary.slice(0, 120)})` : ''}`),
      lastError: state?.lastError ?? null,
    };
  });
  const exactlyOnce = (p: (typeof perCard)[number]) => p.run === 1 && p.runAgent === 1 && p.publish === 1 && p.movesToReview === 1 && p.branch && p.reviewRequests === 1;
  const once = perCard.filter(exactlyOnce).length;
  const retriedAgents = perCard.filter((p) => p.markerStarts > 1).length;
  const agreeing = perCard.filter((p) => p.markerStarts === p.agentAttempts && p.markerEnds >= p.succeeded);
  const stuck = perCard.filter((p) => !(p.phase === 'review' && p.column === 'review'));
  const n = cards.length;
  const recovery = firstReviewAfterRestart === null ? 'none' : `${((firstReviewAfterRestart - restartedAt) / 1000).toFixed(1)} s`;
  const processes = perCard.reduce((s, p) => s + p.markerStarts, 0);
  return [
    {
      scenario: `${label}: cards`,
      runs: n,
      expected: `${n}/${n} in review (workflow and board) within ${sizes.deadlineS} s`,
      observed: `${inReview}/${n} in review after ${totalS} s; at the kill (${killAfterS} s after the first move): ${JSON.stringify(phasesAtKill)}, ${agentsRunningAtKill} agents running; ${temporal.kind} down ${downS}; first new review ${recovery} after the restart${stuck.length ? `; stuck: ${stuck.slice(0, 5).map((p) => `${p.card} ${p.phase} [${p.pending.join('; ')}]`).join(', ')}` : ''}`,
      pass: inReview === n,
      details: stuck,
    },
    {
      scenario: `${label}: exactly once`,
      runs: n,
      expected: 'run 1; 1 runAgent, 1 publish, 1 move to review; 1 branch, 1 review request',
      observed: `${once}/${n} exactly once; ${branches.length} branches, ${reviewRows.length} review requests`,
      pass: once === n && branches.length === n && reviewRows.length === n,
      details: perCard.filter((p) => !exactlyOnce(p)),
    },
    {
      scenario: `${label}: agent runs`,
      runs: n,
      expected: "the agent processes in the marker files are the agent runs Ouija recorded, card by card",
      observed: `${agreeing.length}/${n} cards agree; ${processes} agent processes in the markers, ${perCard.reduce((s, p) => s + p.agentAttempts, 0)} agent_runs rows; ${retriedAgents} cards' agents ran more than once`,
      pass: agreeing.length === n,
      details: perCard.filter((p) => !agreeing.includes(p)).map((p) => ({ card: p.card, markerStarts: p.markerStarts, markerEnds: p.markerEnds, attempts: p.attempts })),
    },
    {
      scenario: `${label}: readiness`,
      runs: 2,
      expected: '/readyz asked while down answers 503 (not held until Temporal is back); 200 after',
      observed: `${readyDuring.status} while down (answered in ${readyDuring.ms} ms), ${readyAfter} after`,
      pass: readyDuring.status === 503 && readyAfter === 200,
    },
  ] satisfies Row[];
}

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
