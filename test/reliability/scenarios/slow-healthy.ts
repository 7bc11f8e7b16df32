/**
 * Scenario 5, slow but healthy: `slow-runs` cards (default 20) run at once, each with a demo agent that works
 * 10× the configured Temporal heartbeat timeout while printing a heartbeat line every 500 ms, and the machine
 * is kept busy by one busy-looping process per core for the whole time. Expected for every card: it reaches
 * review with exactly one agent attempt — one runAgent activity whose ActivityTaskStarted says attempt 1, one
 * agent_runs row, and one agent process (one `start` line in its marker file).
 *
 * Sizes: `--set slow-runs=20` (cards), `--set slow-heartbeat-ms=2000` (the heartbeat timeout; the agents work 10×).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CardState } from '../../../src/core/types';
import { listAgentRuns } from '../../../src/db';
import type { Row } from '../report';
import { agentActivities, readMarker } from './agent-evidence';
import { size, type Params, type Scenario } from './scenario';
import { pool } from './send';

/** The Temporal heartbeat timeout configured (`--set slow-heartbeat-ms=...`); the agent works 10× as long. */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 2_000;
const AGENT_HEARTBEAT_MS = 500;
/** Above the agent's heartbeat interval, with room for a loaded machine. */
const SILENCE_TIMEOUT_MS = 5_000;

const DEFAULT_RUNS = 20;

const heartbeatTimeoutOf = (params: Params) => size(params, 'slow-heartbeat-ms', DEFAULT_HEARTBEAT_TIMEOUT_MS);

/** One busy-looping process per core; kill them with `stopLoad`. */
function startLoad(): ChildProcess[] {
  return Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

function stopLoad(load: ChildProcess[]): void {
  for (const child of load) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export const slowHealthy: Scenario = {
  name: 'slow-healthy',
  overrides: (params) => ({
    agent: { heartbeatTimeoutMs: heartbeatTimeoutOf(params), silenceTimeoutMs: SILENCE_TIMEOUT_MS, maxConcurrent: Math.max(2, size(params, 'slow-runs', DEFAULT_RUNS)) },
  }),
  async run({ harness: h, params }) {
    const n = size(params, 'slow-runs', DEFAULT_RUNS);
    const heartbeatTimeoutMs = heartbeatTimeoutOf(params);
    const workMs = 10 * heartbeatTimeoutMs;
    const markers = path.join(h.workDir, 'markers'); // outside every worktree (those are under data/)
    fs.mkdirSync(markers, { recursive: true });
    const board = await h.api('POST', '/api/boards', { id: 'slow', name: 'Slow but healthy', repo: h.remote });
    if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
    const cards = await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const marker = path.join(markers, `card-${i}.log`);
      const body = `ouija-demo: sleep=${workMs} heartbeat=${AGENT_HEARTBEAT_MS} marker=${marker}`;
      const card = await h.api('POST', `/api/boards/${board.body.id}/cards`, { title: `slow ${i}`, body });
      if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
      return { cardId: card.body.id as string, version: card.body.version as number, cardKey: `builtin:${board.body.id}:${card.body.id}`, marker };
    });

    const load = startLoad();
    // The worker runs in this process: how late its timers (the activity's heartbeat ticker among them) fired.
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const started = Date.now();
    let loadHeld: boolean;
    let loadAvg: number;
    let states: CardState[] = [];
    try {
      await pool(cards, n, async (c) => {
        const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
        if (moved.status !== 200) throw new Error(`move ${c.cardKey}: ${moved.status} ${JSON.stringify(moved.body)}`);
      });
      states = await pool(cards, n, (c) => h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', `${c.cardKey} at rest`, 15 * 60_000));
    } finally {
      loadHeld = load.every((child) => child.exitCode === null && child.signalCode === null);
      loadAvg = os.loadavg()[0]!;
      stopLoad(load);
      loopDelay.disable();
    }
    const seconds = Math.round((Date.now() - started) / 1000);

    const perCard = await pool(cards, 8, async (c, i) => {
      const activities = await agentActivities(h, c.cardKey);
      const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey, limit: 10 });
      const lines = readMarker(c.marker);
      const starts = lines.filter((l) => l.what === 'start');
      const end = lines.find((l) => l.what === 'end');
      return {
        card: c.cardKey,
        phase: states[i]!.phase,
        activities,
        agentRuns: runs.map((r) => `${r.attempt}:${r.outcome}`),
        processes: starts.length,
        // Milliseconds after the runAgent activity was scheduled: when each attempt's run was recorded and ended,
        // and when each agent process started (for reading a retry's cause).
        timeline: {
          started: activities.startedAt.map((t) => t - activities.scheduledAt[0]!),
          runs: runs.map((r) => `${r.attempt}: ${r.startedAt.getTime() - activities.scheduledAt[0]!}–${r.endedAt ? r.endedAt.getTime() - activities.scheduledAt[0]! : '?'}`),
          agents: starts.map((l) => `${l.attempt}: ${l.at - activities.scheduledAt[0]!}`),
        },
        workedMs: starts.length === 1 && end ? end.at - starts[0]!.at : null,
      };
    });
    const once = (p: (typeof perCard)[number]) =>
      p.phase === 'review' &&
      p.activities.scheduled === 1 &&
      p.activities.attempts.length === 1 &&
      p.activities.attempts[0] === 1 &&
      p.agentRuns.length === 1 &&
      p.agentRuns[0] === '1:succeeded' &&
      p.processes === 1;
    const good = perCard.filter(once).length;
    const atReview = perCard.filter((p) => p.phase === 'review').length;
    const retried = perCard.filter((p) => p.activities.attempts.some((a) => a > 1) || p.agentRuns.length > 1 || p.processes > 1).length;
    const worked = perCard.map((p) => p.workedMs).filter((ms): ms is number => ms !== null);
    const longEnough = worked.filter((ms) => ms >= workMs).length;
    const minWorked = worked.length ? Math.min(...worked) : 0;
    const maxWorked = worked.length ? Math.max(...worked) : 0;
    return [
      {
        scenario: '5 slow but healthy: setup held',
        runs: n,
        expected: `each agent works ≥ ${workMs / 1000} s (10× heartbeat timeout ${heartbeatTimeoutMs / 1000} s) under CPU load`,
        observed: `${longEnough}/${n} worked ${(minWorked / 1000).toFixed(1)}–${(maxWorked / 1000).toFixed(1)} s; ${load.length} busy loops ${loadHeld ? 'ran throughout' : 'DIED early'}; load avg ${loadAvg.toFixed(1)} on ${os.availableParallelism()} cores; worker event-loop delay p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms, max ${Math.round(loopDelay.max / 1e6)} ms`,
        pass: longEnough === n && loadHeld,
        details: perCard.map((p) => ({ card: p.card, timeline: p.timeline })),
      },
      {
        scenario: '5 slow but healthy: attempts',
        runs: n,
        expected: `review with exactly 1 agent attempt, ${n}/${n}`,
        observed: `${good}/${n} exactly once (history attempt 1, 1 agent_runs row, 1 process); ${atReview}/${n} in review; ${retried} retried; ${seconds} s`,
        pass: good === n,
        details: perCard.filter((p) => !once(p)),
      },
    ] satisfies Row[];
  },
};
