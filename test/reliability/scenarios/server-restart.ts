/**
 * Scenario 8, Temporal dev server restart: a Temporal dev server of this scenario's own, keeping its state in a
 * SQLite file (`--db-filename`), and an Ouija on it (workers and HTTP in this process). `restart-cards` cards
 * (default 50) are moved to work, with demo agents that take `restart-agent-ms` (4000) each; `restart-after-ms`
 * (6000) later, with cards in every phase, the server is SIGKILLed and, `restart-down-ms` (3000) later, started
 * again on the same port with the same database file. Nothing else is done: workers and clients must reconnect by
 * themselves. Expected: every card reaches review (workflow and board) within `restart-deadline-s` (200) of the
 * first move, each exactly once (run 1; one publish and one move to review in its history; one branch and one
 * review request), and /readyz says 503 during the outage and 200 after it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowIdForCard } from '../../../src/core/cards';
import { git } from '../../../src/cli/local-repo';
import { listAgentRuns } from '../../../src/db';
import { log } from '../../../src/log';
import { ensureTemporalCli } from '../../../src/temporal/cli';
import { freePort, startDevServer, type DevServer } from '../../../src/temporal/dev-server';
import { startHarness, type Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import { RELIABILITY_SECRETS, size, type Scenario } from './scenario';
import { scheduledActivities } from './agent-evidence';
import { pool, sleep } from './send';

const OVERRIDES = { agent: { maxConcurrent: 8, maxAttempts: 5 } };

export const serverRestart: Scenario = {
  name: 'server-restart',
  async run({ params }) {
    const count = size(params, 'restart-cards', 50);
    const agentMs = size(params, 'restart-agent-ms', 4_000);
    const afterMs = size(params, 'restart-after-ms', 6_000);
    const downMs = size(params, 'restart-down-ms', 3_000);
    const deadlineS = size(params, 'restart-deadline-s', 200);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-restart-'));
    const dbFile = path.join(dir, 'temporal.sqlite');
    const cliPath = await ensureTemporalCli({ log });
    const quiet = log.child({}, { level: 'error' });
    const port = await freePort();
    let server: DevServer = await startDevServer({ cliPath, dbFile, port, headless: true, log: quiet });
    let h: Harness | undefined;
    try {
      h = await startHarness({ ...OVERRIDES, secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin } }, { temporalAddress: server.address });
      const harness = h;
      const board = await h.api('POST', '/api/boards', { id: 'restart', name: 'Restart', repo: h.remote });
      if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
      const cards = await pool(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
        const card = await harness.api('POST', '/api/boards/restart/cards', { title: `Restart ${i}`, body: `ouija-demo: sleep=${agentMs}` });
        if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
        return { cardId: card.body.id as string, cardKey: `builtin:restart:${card.body.id}`, version: card.body.version as number };
      });

      const started = Date.now();
      await pool(cards, 8, async (c) => {
        const moved = await harness.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
        if (moved.status !== 200 || moved.body.dispatch?.status !== 'accepted') throw new Error(`move: ${JSON.stringify(moved.body)}`);
      });
      await sleep(Math.max(0, afterMs - (Date.now() - started)));

      // Where the cards are when the server dies.
      const phasesAtKill = tally(await pool(cards, 8, async (c) => (await harness.state(c.cardKey).catch(() => null))?.phase ?? 'unknown'));
      try {
        process.kill(-server.pid, 'SIGKILL'); // the whole group the launcher leads
      } catch {
        /* already gone */
      }
      const killedAt = Date.now();
      await server.stop(); // reaps it
      const reapedMs = Date.now() - killedAt;
      await sleep(Math.max(0, downMs / 2));
      // Not awaited here: the probe may take long to answer while Temporal is down, and the restart keeps its time.
      const probeAt = Date.now();
      const readyProbe = harness.api('GET', '/readyz').then(
        (r) => ({ status: r.status, ms: Date.now() - probeAt }),
        () => ({ status: 0, ms: Date.now() - probeAt }),
      );
      await sleep(Math.max(0, downMs - (Date.now() - killedAt)));
      const relaunchedAt = Date.now();
      server = await startDevServer({ cliPath, dbFile, port, headless: true, log: quiet });
      const restartedAt = Date.now();
      const readyDuring = await readyProbe;
      const downS = `${((restartedAt - killedAt) / 1000).toFixed(1)} s (reaped in ${reapedMs} ms, ${((restartedAt - relaunchedAt) / 1000).toFixed(1)} s to ready)`;

      // Wait for every card, with nothing but time.
      const deadline = started + deadlineS * 1000;
      let readyAfter = 0;
      let settled: Array<{ phase: string; column: string; version: number }> = [];
      let firstReviewAfterRestart: number | null = null;
      let reviewedAtRestart = -1;
      for (;;) {
        settled = await pool(cards, 8, async (c) => {
          const state = await harness.state(c.cardKey).catch(() => null);
          const card = (await harness.api('GET', `/api/cards/${c.cardId}`)).body;
          return { phase: state?.phase ?? 'unknown', column: card.columnKey as string, version: card.version as number };
        });
        const done = settled.filter((s) => s.phase === 'review' && s.column === 'review').length;
        if (reviewedAtRestart < 0) reviewedAtRestart = done;
        else if (firstReviewAfterRestart === null && done > reviewedAtRestart) firstReviewAfterRestart = Date.now();
        if (readyAfter !== 200) readyAfter = (await harness.api('GET', '/readyz')).status;
        if (done === cards.length || Date.now() > deadline) break;
        await sleep(1_000);
      }
      const totalS = Math.round((Date.now() - started) / 1000);
      const inReview = settled.filter((s) => s.phase === 'review' && s.column === 'review').length;

      const branches = (await git(h.remote, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')).split('\n').filter((b) => b && b !== 'main');
      const reviewRows = await h.database.db.selectFrom('review_requests').select(['card_key']).execute();
      const perCard = await pool(cards, 8, async (c, i) => {
        const handle = harness.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey));
        const state = await harness.state(c.cardKey).catch(() => null);
        const { scheduled, movesToReview } = await scheduledActivities(harness, c.cardKey);
        const runs = await listAgentRuns(harness.database.db, { cardKey: c.cardKey, limit: 50 });
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
          branch: state?.workspace?.branch !== undefined && branches.includes(state.workspace.branch),
          reviewRequests: reviewRows.filter((r) => r.card_key === c.cardKey).length,
          pending,
          attempts: runs.map((r) => `${r.attempt}:${r.outcome ?? 'no end'}${r.summary ? ` (${r.summary.slice(0, 120)})` : ''}`),
          lastError: state?.lastError ?? null,
        };
      });
      const once = perCard.filter((p) => p.run === 1 && p.runAgent === 1 && p.publish === 1 && p.movesToReview === 1 && p.branch && p.reviewRequests === 1).length;
      const retriedAgents = perCard.filter((p) => p.agentAttempts > 1).length;
      const stuck = perCard.filter((p) => !(p.phase === 'review' && p.column === 'review'));
      const n = cards.length;
      const recovery = firstReviewAfterRestart === null ? 'none' : `${((firstReviewAfterRestart - restartedAt) / 1000).toFixed(1)} s`;
      return [
        {
          scenario: '8 Temporal restart: cards',
          runs: n,
          expected: `${n}/${n} in review (workflow and board) within ${deadlineS} s`,
          observed: `${inReview}/${n} in review after ${totalS} s; at the kill: ${JSON.stringify(phasesAtKill)}; down ${downS}; first new review ${recovery} after the restart${stuck.length ? `; stuck: ${stuck.slice(0, 5).map((p) => `${p.card} ${p.phase} [${p.pending.join('; ')}]`).join(', ')}` : ''}`,
          pass: inReview === n,
          details: stuck,
        },
        {
          scenario: '8 Temporal restart: exactly once',
          runs: n,
          expected: 'run 1; 1 runAgent, 1 publish, 1 move to review; 1 branch, 1 review request',
          observed: `${once}/${n} exactly once; ${branches.length} branches, ${reviewRows.length} review requests; ${retriedAgents} cards' agents retried (${perCard.reduce((s, p) => s + p.agentAttempts, 0)} attempts)`,
          pass: once === n && branches.length === n && reviewRows.length === n,
          details: perCard.filter((p) => !(p.run === 1 && p.runAgent === 1 && p.publish === 1 && p.movesToReview === 1 && p.branch && p.reviewRequests === 1)),
        },
        {
          scenario: '8 Temporal restart: readiness',
          runs: 2,
          expected: '/readyz asked while down answers 503 (not held until Temporal is back); 200 after',
          observed: `${readyDuring.status} while down (answered in ${readyDuring.ms} ms), ${readyAfter} after`,
          pass: readyDuring.status === 503 && readyAfter === 200,
        },
      ] satisfies Row[];
    } finally {
      await h?.stop();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
