/**
 * Scenario 7, worker SIGKILL: Ouija's workers (every queue, workflows included, as `ouija worker` runs them) live
 * in a child process (test/reliability/support/killable-worker.ts) that is SIGKILLed `kills` times (default 20),
 * each time at a chosen point of a chosen card — mid-agent, after the agent succeeded but before Temporal heard,
 * between the push and the review request, between the review request and the move to review — and restarted at
 * once. The HTTP/ingest side stays in this process. `kill-cards` cards (default: one per kill) get the points
 * round robin; kills also hit whatever else is in flight at that moment. Attempts are the defaults (3 per agent
 * step, 5 per git step): crashes must not use them up.
 *
 * Expected, per card: it reaches review exactly once (phase review on run 1, one `runAgent`, one `publish` and
 * one move-to-review activity in its history, one succeeded agent run, the board card in review), one branch on
 * the remote and one review request; an agent process finishes once per card, a second time only when a kill came
 * between the first one's exit and its record (within a second of its last line); every kill verified at its point
 * (mid-agent: the attempt's marker has a start and no end before the kill; agent done: an end before it; push:
 * the review request was created after the kill; review: it existed before); no demo agent process left under
 * the scenario's directory, and never two at once for one card.
 *
 * Sizes: `kills` (20), `kill-cards` (= kills), `kill-parallel` (cards in work at once, 3), `kill-agent-ms` (how
 * long each demo agent works, 4000), `kill-gap-ms` (each new worker is not killed before this much time, 0),
 * `kill-deadline-s` (the kill phase, from the first move, 300), `kill-settle-s` (settling after it, 120).
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { workflowIdForCard } from '../../../src/core/cards';
import { OUIJA_PHASE } from '../../../src/temporal/search-attributes';
import { git } from '../../../src/cli/local-repo';
import { listAgentRuns } from '../../../src/db';
import type { Row } from '../report';
import type { KillPlan, KillPoint, KillRecord, KillTarget } from '../support/killable-worker';
import { startKillableWorker, stopKillableWorker } from '../support/killable-process';
import { demoAgents, procsUnder, sampleAgents } from '../support/procs';
import { size, type Scenario } from './scenario';
import { scheduledActivities } from './agent-evidence';
import { pool, sleep } from './send';

const POINTS: KillPoint[] = ['agent', 'agent-done', 'push', 'review'];
/** How soon after an agent's last line a kill may come and still be "before its exit was recorded". */
const LOST_EXIT_WINDOW_MS = 1_000;

interface KCard {
  cardId: string;
  cardKey: string;
  marker: string;
  version: number;
}

/** Marker lines of the demo agent: `start|end <attempt> <pid> <epoch ms>`. */
function markerLines(file: string): Array<{ what: string; attempt: string; pid: number; at: number }> {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what = '', attempt = '', pid = '', at = ''] = line.split(' ');
      return { what, attempt, pid: Number(pid), at: Number(at) };
    });
}

export const workerKill: Scenario = {
  name: 'worker-kill',
  // The default attempts (3 per agent step, 5 per git step): kills, the planned ones and the collateral ones on
  // other cards in flight, must not use them up (a crash is not a failure). A short heartbeat timeout so that a
  // killed attempt is retried within seconds.
  overrides: () => ({ agent: { maxConcurrent: 4, heartbeatTimeoutMs: 3_000 }, activities: { heartbeatTimeoutMs: 3_000 } }),
  async run({ harness: h, params }) {
    const kills = size(params, 'kills', 20);
    const cardCount = Math.max(1, size(params, 'kill-cards', kills));
    // Cards are moved into work a few at a time (a new one as each kill lands), so there is always work at the
    // next kill point; all at once, the cards outrun the kills or every kill takes the others' agents down with it.
    const parallel = Math.max(1, size(params, 'kill-parallel', 3));
    const agentMs = size(params, 'kill-agent-ms', 4_000);
    const deadlineS = size(params, 'kill-deadline-s', 300);
    const gapMs = size(params, 'kill-gap-ms', 0);
    const settleS0 = size(params, 'kill-settle-s', 120);
    const address = process.env.TEMPORAL_ADDRESS!;

    // The workers run only in the child: stop this process's own.
    await h.ouija.workers?.shutdown();
    const bundlePath = path.join(h.workDir, 'workflows.js');
    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../../workflows'), logger: new DefaultLogger('WARN') });
    fs.writeFileSync(bundlePath, bundle.code);

    const markers = path.join(h.workDir, 'markers');
    fs.mkdirSync(markers);
    const board = await h.api('POST', '/api/boards', { id: 'kill', name: 'Kill', repo: h.remote });
    if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
    const cards: KCard[] = await pool(Array.from({ length: cardCount }, (_, i) => i), 4, async (i) => {
      const marker = path.join(markers, `card-${i}.marker`);
      const card = await h.api('POST', '/api/boards/kill/cards', { title: `Kill ${i}`, body: `ouija-demo: sleep=${agentMs} marker=${marker}` });
      if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
      return { cardId: card.body.id, cardKey: `builtin:kill:${card.body.id}`, marker, version: card.body.version };
    });
    // Target i: point i mod 3 of card i mod n (each card gets different points, in lifecycle order as they come).
    let remaining: KillTarget[] = Array.from({ length: kills }, (_, i) => {
      const card = cards[i % cardCount]!;
      return { card: card.cardKey, point: POINTS[i % POINTS.length]!, marker: card.marker };
    });

    const env = (n: number): NodeJS.ProcessEnv => {
      const plan: KillPlan = { targets: remaining, killLog: path.join(h.workDir, `kill-${n}.json`), remote: h.remote, agentDelayMs: 1_000, armAt: Date.now() + gapMs };
      return {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        OUIJA_KILLABLE_CONFIG: JSON.stringify({ ...h.config, secrets: {} }),
        OUIJA_KILL_PLAN: JSON.stringify(plan),
        OUIJA_TEST_WORKFLOW_BUNDLE: bundlePath,
      };
    };
    const sampler = sampleAgents(h.workDir);
    let child = await startKillableWorker(env(0));
    let restarts = 0;
    const restartMs: number[] = [];
    const records: KillRecord[] = [];

    const started = Date.now();
    const deadline = started + deadlineS * 1000;
    let movedCount = 0;
    /** Moves the next card into work; `extra` counts cards moved because earlier ones settled unhit. */
    let extra = 0;
    const moveNext = async () => {
      const c = cards[movedCount++]!;
      const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
      if (moved.status !== 200) throw new Error(`move: ${JSON.stringify(moved.body)}`);
    };
    const moveMore = async () => {
      while (movedCount < cards.length && movedCount < records.length + parallel + extra) await moveNext();
    };
    await moveMore();

    // The phase from the workflow's search attribute, not a query: a query needs a workflow worker, and while the
    // only one is being restarted it would wait for it — and the restart waits for this check.
    const atRest = async (c: KCard) => {
      const description = await h.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey)).describe().catch(() => null);
      const phase = description?.typedSearchAttributes.get(OUIJA_PHASE);
      const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
      return { phase, card, rest: (phase === 'review' && card.columnKey === 'review') || phase === 'failed' };
    };
    let lastCheck = 0;
    try {
      while (records.length < kills && Date.now() < deadline) {
        await moveMore();
        const exit = await Promise.race([child.exited, sleep(500).then(() => null)]);
        if (exit) {
          const logFile = path.join(h.workDir, `kill-${restarts}.json`);
          if (!fs.existsSync(logFile)) throw new Error(`the worker died unplanned (${exit.code ?? exit.signal}): ${child.tail()}`);
          const record = JSON.parse(fs.readFileSync(logFile, 'utf8')) as KillRecord;
          records.push(record);
          // The planned target of that card and point, or else the first of that point (hit on another card).
          const hit = remaining.findIndex((t) => t.card === record.target.card && t.point === record.target.point);
          const index = hit >= 0 ? hit : remaining.findIndex((t) => t.point === record.target.point);
          remaining = remaining.filter((_, i) => i !== index);
          if (records.length >= kills) break;
          restarts++;
          const t0 = Date.now();
          child = await startKillableWorker(env(restarts));
          restartMs.push(Date.now() - t0);
          continue;
        }
        // Every card in work settled without the kill landing (it got past its point first): bring in the next one,
        // and once there is none, the targets left can no longer be hit.
        if (Date.now() - lastCheck > 2_000) {
          lastCheck = Date.now();
          if ((await pool(cards.slice(0, movedCount), 4, atRest)).every((s) => s.rest)) {
            if (movedCount >= cards.length) break;
            extra++;
          }
        }
      }
      while (movedCount < cards.length) await moveNext();
      // The kill phase is over (plan spent, or out of time): one more worker, without targets, to let every card
      // finish. A worker still holding targets is stopped cleanly first (SIGTERM: not one of the kills).
      remaining = [];
      if (child.proc.exitCode === null && child.proc.signalCode === null) {
        child.proc.kill('SIGTERM');
        await child.exited;
      }
      restarts++;
      const t0 = Date.now();
      child = await startKillableWorker(env(restarts));
      restartMs.push(Date.now() - t0);
      const killPhaseS = Math.round((Date.now() - started) / 1000);
      // Settling gets its own time: the kill phase may have used up the deadline.
      const settleDeadline = Math.max(deadline, Date.now() + settleS0 * 1000);
      // Settle.
      let finals = await pool(cards, 4, atRest);
      while (!finals.every((s) => s.rest) && Date.now() < settleDeadline) {
        await sleep(1_000);
        finals = await pool(cards, 4, atRest);
      }
      const settleS = Math.round((Date.now() - started) / 1000);
      await sleep(1_000);
      const leftoverAgents = demoAgents(procsUnder(h.workDir, [process.pid, child.proc.pid!]));
      const leftoverAll = procsUnder(h.workDir, [process.pid, child.proc.pid!]);
      const sampled = sampler.stop();

      // Per card: exactly once.
      const branchesOnRemote = (await git(h.remote, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')).split('\n').filter((b) => b && b !== 'main');
      const reviewRows = await h.database.db.selectFrom('review_requests').select(['card_key', 'branch', 'created_at']).execute();
      const perCard = await pool(cards, 4, async (c, i) => {
        const { card } = finals[i]!;
        // Settled, with a worker running: the workflow answers queries.
        const state = await h.state(c.cardKey).catch(() => null);
        const handle = h.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey));
        const { scheduled, movesToReview } = await scheduledActivities(h, c.cardKey);
        const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey, limit: 50 });
        const branch = state?.workspace?.branch;
        const pending = state?.phase === 'review' ? [] : ((await handle.describe()).raw.pendingActivities ?? []).map((p) => `${p.activityType?.name} attempt ${p.attempt} ${p.state}`);
        return {
          card: c.cardKey,
          phase: state?.phase ?? 'unknown',
          run: state?.run,
          column: card.columnKey as string,
          boardVersion: card.version as number,
          runAgent: scheduled.runAgent ?? 0,
          publish: scheduled.publish ?? 0,
          movesToReview,
          agentRuns: runs.length,
          agentsFinished: markerLines(c.marker).filter((l) => l.what === 'end').length,
          // Agent processes that finished but whose exit no worker recorded, and how soon after a kill came.
          lostExits: markerLines(c.marker)
            .filter((l) => l.what === 'end' && !runs.some((r) => String(r.attempt) === l.attempt && r.exitCode !== null))
            .map((l) => ({ attempt: l.attempt, killAfterMs: Math.min(...records.filter((k) => k.at >= l.at).map((k) => k.at - l.at)) })),
          recordedExits: runs.filter((r) => r.exitCode === 0).length,
          succeeded: runs.filter((r) => r.outcome === 'succeeded').length,
          branchOnRemote: branch !== undefined && branchesOnRemote.includes(branch),
          reviewRequests: reviewRows.filter((r) => r.card_key === c.cardKey).length,
          killsAt: records.filter((r) => r.target.card === c.cardKey).map((r) => r.target.point),
          attempts: runs.map((r) => `${r.attempt}:${r.outcome ?? '-'}:${r.exitCode ?? '-'}:${r.startedAt.getTime()}-${r.endedAt?.getTime() ?? ''}`),
          marker: markerLines(c.marker).map((l) => `${l.what} ${l.attempt} ${l.pid} ${l.at}`),
          pending,
        };
      });

      // Each kill at its point?
      const verified = records.map((r) => {
        const review = reviewRows.find((row) => row.card_key === r.target.card);
        if (r.target.point === 'agent') {
          const lines = markerLines(r.target.marker);
          const ok = lines.some((s) => s.what === 'start' && s.at < r.at && !lines.some((e) => e.what === 'end' && e.pid === s.pid && e.at < r.at));
          return { ...r, ok, why: ok ? 'agent running' : 'no agent running at the kill' };
        }
        if (r.target.point === 'agent-done') {
          const lines = markerLines(r.target.marker);
          const ok = lines.some((e) => e.what === 'end' && e.at <= r.at);
          return { ...r, ok, why: ok ? 'agent finished, result not reported' : 'no agent had finished' };
        }
        if (r.target.point === 'push') {
          const ok = !r.branchPreexisting && (review === undefined || review.created_at.getTime() > r.at);
          return { ...r, ok, why: r.branchPreexisting ? 'branch already on the remote' : review && review.created_at.getTime() <= r.at ? 'review request existed' : 'pushed, no review request' };
        }
        const ok = review !== undefined && review.created_at.getTime() < r.at;
        return { ...r, ok, why: ok ? 'review request open, card not moved' : 'no review request yet' };
      });

      const n = cards.length;
      const inReview = perCard.filter((p) => p.phase === 'review' && p.column === 'review').length;
      const once = perCard.filter((p) => p.run === 1 && p.runAgent === 1 && p.publish === 1 && p.movesToReview === 1 && p.succeeded === 1).length;
      // An agent runs again only if its worker died between the agent's exit and recording it (nothing can be
      // known of an exit nobody recorded); never after a recorded exit, never because an orphan kept working.
      const lost = perCard.flatMap((p) => p.lostExits.map((l) => ({ card: p.card, ...l })));
      const reruns = perCard.reduce((sum, p) => sum + p.agentsFinished - 1, 0);
      const unexplained = perCard.filter((p) => p.recordedExits > 1 || p.agentsFinished - 1 > p.lostExits.length || p.lostExits.some((l) => l.killAfterMs > LOST_EXIT_WINDOW_MS));
      const oneBranch = perCard.filter((p) => p.branchOnRemote && p.reviewRequests === 1).length;
      const byPoint = POINTS.map((p) => `${records.filter((r) => r.target.point === p).length} ${p}`).join(', ');
      const okKills = verified.filter((v) => v.ok).length;
      const unhit = remaining.map((t) => `${t.point}@${t.card}`);
      const stuck = perCard.filter((p) => p.phase !== 'review' || p.column !== 'review');
      return [
        {
          scenario: '7 worker SIGKILL: kills',
          runs: kills,
          expected: `${kills} SIGKILLs, each at its point (mid-agent / agent done, not reported / pushed, no PR / PR, not reported)`,
          observed: `${records.length} kills (${byPoint}), ${okKills}/${records.length} verified at their point; ${restarts} restarts (median ${median(restartMs)} ms to ready); kill phase ${killPhaseS} s${unhit.length ? `; not reached: ${unhit.length}` : ''}`,
          pass: records.length === kills && okKills === records.length,
          details: { verified, unhit },
        },
        {
          scenario: '7 worker SIGKILL: cards in review',
          runs: n,
          expected: `${n}/${n} in review (workflow and board) within ${deadlineS} s`,
          observed: `${inReview}/${n} in review after ${settleS} s${stuck.length ? `; stuck: ${stuck.map((p) => `${p.card} ${p.phase} [${p.pending.join('; ')}] (killed at ${p.killsAt.join('+')})`).join(', ')}` : ''}`,
          pass: inReview === n,
          details: stuck,
        },
        {
          scenario: '7 worker SIGKILL: exactly once',
          runs: n,
          expected: 'run 1; 1 runAgent, 1 publish, 1 move to review; 1 succeeded agent run',
          observed: `${once}/${n} exactly once; agent runs recorded ${perCard.reduce((s, p) => s + p.agentRuns, 0)} for ${n} cards`,
          pass: once === n,
          details: perCard,
        },
        {
          scenario: '7 worker SIGKILL: agents finished',
          runs: n,
          expected: `1 finished agent per card, or a 2nd only after a kill within ${LOST_EXIT_WINDOW_MS} ms of the 1st's exit (before it was recorded)`,
          observed: `${perCard.reduce((s, p) => s + p.agentsFinished, 0)} finished for ${n} cards: ${reruns} ran again, ${lost.length} exits lost to a kill${lost.length ? ` ${Math.min(...lost.map((l) => l.killAfterMs))}–${Math.max(...lost.map((l) => l.killAfterMs))} ms after the agent's last line` : ''}; ${unexplained.length} unexplained`,
          pass: unexplained.length === 0,
          details: { lost, unexplained: unexplained.map((p) => ({ card: p.card, attempts: p.attempts, marker: p.marker })) },
        },
        {
          scenario: '7 worker SIGKILL: branches, review requests',
          runs: n,
          expected: '1 branch on the remote and 1 review request per card',
          observed: `${oneBranch}/${n}; ${branchesOnRemote.length} branches and ${reviewRows.length} review requests in all`,
          pass: oneBranch === n && branchesOnRemote.length === n && reviewRows.length === n,
        },
        {
          scenario: '7 worker SIGKILL: orphans',
          runs: n,
          expected: '0 agent processes left; never 2 agents at once in a worktree',
          observed: `${leftoverAgents.length} agent processes left (${leftoverAll.length} processes of any kind); at most ${sampled.maxPerCwd} at once per worktree (${sampled.samples} samples)`,
          pass: leftoverAgents.length === 0 && leftoverAll.length === 0 && sampled.maxPerCwd <= 1,
          details: { leftoverAll, worst: sampled.worst },
        },
      ] satisfies Row[];
    } finally {
      sampler.stop();
      await stopKillableWorker(child);
    }
  },
};

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
