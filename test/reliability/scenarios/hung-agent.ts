/**
 * Scenario 6, hung agent: `hung-runs` cards (default 3), each with a demo agent that works a few seconds while
 * printing heartbeat lines and logs its start and end to a marker file outside the worktree. The scenario
 * SIGSTOPs the first attempt's process group (found through the card's pid fence, cross-checked with the pid
 * in the marker) as soon as it starts. Expected per card:
 *  - the frozen attempt is detected as hung: the worker keeps heartbeating to Temporal for it, so Temporal's
 *    heartbeat timeout does not fire; the agent's silence watchdog does (AgentHungError), and kills the group;
 *  - the frozen process (and its whole group) is gone, a second attempt runs and the card reaches review;
 *  - the two attempts' marker intervals do not overlap (the frozen one never ends; it is seen gone before the
 *    second one starts, and its agent_runs row closes before then too);
 *  - a late push of work made from the frozen attempt's starting point, with the lease the frozen attempt had
 *    (the remote branch as it saw it), is rejected by Ouija's push-with-lease and leaves the branch at the
 *    reviewed commit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CardState } from '../../../src/core/types';
import { listAgentRuns } from '../../../src/db';
import { createWorkspaces, LeaseRejectedError } from '../../../src/plugins/git';
import { isGroupAlive } from '../../../src/plugins/agent/process-group';
import { exists, git, readPid, waitUntilGone } from '../../integration/agent/helpers';
import type { Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import { agentActivities, readMarker, type MarkerLine } from './agent-evidence';
import { size, type Scenario } from './scenario';
import { pool, sleep } from './send';

const DEFAULT_RUNS = 3;
const SILENCE_TIMEOUT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;
const WORK_MS = 4_000;
const IDENTITY = ['-c', 'user.name=Frozen attempt', '-c', 'user.email=frozen@ouija.invalid', '-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false'];

interface HungCard {
  cardId: string;
  version: number;
  cardKey: string;
  marker: string;
}

interface Frozen {
  pid: number;
  pgid: number;
  stoppedAt: number;
  /** When the frozen pid was first seen gone (an upper bound on its death). */
  goneAt: number;
  groupGone: boolean;
  /** What the frozen attempt had: its worktree HEAD and the remote branch as last seen (its push lease). */
  startHead: string;
  lease: string | null;
  branch: string;
}

/** The per-card pid fence Ouija keeps (activities/agent.ts: <dataDir>/runs/<card>/agent.pid). */
function pidFenceOf(h: Harness, cardKey: string): string {
  return path.join(h.config.dataDir, 'runs', cardKey.replace(/[^A-Za-z0-9_.-]/g, '_'), 'agent.pid');
}

async function firstStart(marker: string, timeoutMs: number): Promise<MarkerLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const start = readMarker(marker).find((l) => l.what === 'start');
    if (start) return start;
    if (Date.now() > deadline) throw new Error(`no agent started within ${timeoutMs} ms (${marker})`);
    await sleep(10);
  }
}

async function freezeFirstAttempt(h: Harness, c: HungCard): Promise<Frozen> {
  const start = await firstStart(c.marker, 5 * 60_000);
  if (start.attempt !== 1) throw new Error(`${c.cardKey}: the first agent seen is attempt ${start.attempt}`);
  const pgid = readPid(pidFenceOf(h, c.cardKey));
  if (pgid !== start.pid) throw new Error(`${c.cardKey}: pid fence names group ${pgid}, the agent is ${start.pid}`);
  process.kill(-pgid, 'SIGSTOP');
  const stoppedAt = Date.now();
  const workspace = (await h.state(c.cardKey)).workspace;
  if (!workspace) throw new Error(`${c.cardKey}: an agent runs without a workspace`);
  const startHead = git(workspace.path, ['rev-parse', 'HEAD']);
  await waitUntilGone(start.pid, 2 * 60_000);
  const goneAt = Date.now();
  return { pid: start.pid, pgid, stoppedAt, goneAt, groupGone: !isGroupAlive(pgid), startHead, lease: workspace.remoteSha, branch: workspace.branch };
}

/** Work made from the frozen attempt's starting point, pushed with its lease through Ouija's own push. */
async function latePush(h: Harness, c: HungCard, frozen: Frozen): Promise<{ outcome: string; remoteAfter: string | null }> {
  const workspaces = createWorkspaces({ root: path.join(h.workDir, 'late-push') });
  const ws = await workspaces.prepare({ cardKey: c.cardKey, repo: h.remote, branch: frozen.branch });
  git(ws.path, ['reset', '--quiet', '--hard', frozen.startHead]);
  fs.writeFileSync(path.join(ws.path, 'late-work.txt'), `what the frozen attempt of ${c.cardKey} would have pushed\n`);
  git(ws.path, ['add', '--', 'late-work.txt']);
  git(ws.path, [...IDENTITY, 'commit', '--quiet', '-m', 'late work of a frozen attempt']);
  let outcome: string;
  try {
    await workspaces.push({ path: ws.path, repo: h.remote, branch: frozen.branch, expectedRemoteSha: frozen.lease });
    outcome = 'accepted';
  } catch (error) {
    outcome = error instanceof LeaseRejectedError ? 'LeaseRejectedError' : `other error: ${(error as Error).message}`;
  }
  return { outcome, remoteAfter: await workspaces.remoteBranchSha({ repo: h.remote, branch: frozen.branch }) };
}

export const hungAgent: Scenario = {
  name: 'hung-agent',
  overrides: (params) => ({
    agent: { silenceTimeoutMs: SILENCE_TIMEOUT_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, maxAttempts: 2, maxConcurrent: Math.max(2, size(params, 'hung-runs', DEFAULT_RUNS)) },
  }),
  async run({ harness: h, params }) {
    const n = size(params, 'hung-runs', DEFAULT_RUNS);
    const markers = path.join(h.workDir, 'markers'); // outside every worktree (those are under data/)
    fs.mkdirSync(markers, { recursive: true });
    const board = await h.api('POST', '/api/boards', { id: 'hung', name: 'Hung agents', repo: h.remote });
    if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
    const cards: HungCard[] = await pool(Array.from({ length: n }, (_, i) => i), 8, async (i) => {
      const marker = path.join(markers, `card-${i}.log`);
      const body = `ouija-demo: sleep=${WORK_MS} heartbeat=200 marker=${marker}`;
      const card = await h.api('POST', `/api/boards/${board.body.id}/cards`, { title: `hung ${i}`, body });
      if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
      return { cardId: card.body.id, version: card.body.version, cardKey: `builtin:${board.body.id}:${card.body.id}`, marker };
    });

    const started = Date.now();
    const perCard = await pool(cards, n, async (c) => {
      const frozenP = freezeFirstAttempt(h, c);
      frozenP.catch(() => undefined); // awaited below; a failure must not be an unhandled rejection meanwhile
      const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
      if (moved.status !== 200) throw new Error(`move ${c.cardKey}: ${moved.status} ${JSON.stringify(moved.body)}`);
      const frozen = await frozenP;
      const state: CardState = await h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', `${c.cardKey} at rest`, 5 * 60_000);
      const activities = await agentActivities(h, c.cardKey);
      const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey, limit: 10 });
      const lines = readMarker(c.marker);
      const starts = lines.filter((l) => l.what === 'start');
      const ends = lines.filter((l) => l.what === 'end');
      const second = starts.find((l) => l.attempt === 2);
      const firstRunEnded = runs.find((r) => r.attempt === 1)?.endedAt?.getTime() ?? null;
      const reviewed = state.review?.headSha ?? null;
      const late = state.phase === 'review' ? await latePush(h, c, frozen) : { outcome: 'not tried (card not in review)', remoteAfter: null };
      return {
        card: c.cardKey,
        phase: state.phase,
        frozen,
        activities,
        agentRuns: runs.map((r) => `${r.attempt}:${r.outcome}`),
        detectedMs: firstRunEnded === null ? null : firstRunEnded - frozen.stoppedAt,
        marker: lines.map((l) => `${l.what} ${l.attempt} ${l.pid} +${l.at - frozen.stoppedAt}ms`),
        detected: runs[0]?.attempt === 1 && runs[0].outcome === 'hung' && /^AgentHungError: /.test(activities.lastFailures[0] ?? ''),
        killed: !exists(frozen.pid) && frozen.groupGone,
        retried: state.phase === 'review' && activities.scheduled === 1 && activities.attempts.join() === '2' && runs.length === 2 && runs[1]!.attempt === 2 && runs[1]!.outcome === 'succeeded',
        // Two processes, the frozen one never ended, and it was gone (and its run closed) before the second began.
        disjoint:
          starts.length === 2 &&
          ends.length === 1 &&
          ends[0]!.attempt === 2 &&
          second !== undefined &&
          second.pid !== frozen.pid &&
          second.at > frozen.goneAt &&
          firstRunEnded !== null &&
          second.at > firstRunEnded &&
          ends[0]!.at >= second.at,
        gapMs: second ? second.at - frozen.goneAt : null,
        late,
        reviewed,
        fenced: late.outcome === 'LeaseRejectedError' && reviewed !== null && late.remoteAfter === reviewed,
      };
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    const count = (key: 'detected' | 'killed' | 'retried' | 'disjoint' | 'fenced') => perCard.filter((p) => p[key]).length;
    const range = (values: Array<number | null>) => {
      const known = values.filter((v): v is number => v !== null);
      return known.length ? `${(Math.min(...known) / 1000).toFixed(1)}–${(Math.max(...known) / 1000).toFixed(1)} s` : 'n/a';
    };
    const rejected = perCard.filter((p) => p.late.outcome === 'LeaseRejectedError').length;
    const unchanged = perCard.filter((p) => p.late.remoteAfter !== null && p.late.remoteAfter === p.reviewed).length;
    const leases = [...new Set(perCard.map((p) => (p.frozen.lease === null ? 'none (new branch)' : p.frozen.lease.slice(0, 8))))].join(', ');
    return [
      {
        scenario: '6 hung agent: detected',
        runs: n,
        expected: 'frozen attempt failed as hung',
        observed: `${count('detected')}/${n} by the silence watchdog (AgentHungError, ${SILENCE_TIMEOUT_MS / 1000} s of silence; the worker kept heartbeating, so the ${HEARTBEAT_TIMEOUT_MS / 1000} s heartbeat timeout never fired) ${range(perCard.map((p) => p.detectedMs))} after SIGSTOP`,
        pass: count('detected') === n,
        details: perCard.map((p) => ({ card: p.card, agentRuns: p.agentRuns, lastFailures: p.activities.lastFailures })),
      },
      {
        scenario: '6 hung agent: process group killed',
        runs: n,
        expected: 'frozen pid and its group gone',
        observed: `${count('killed')}/${n} gone`,
        pass: count('killed') === n,
      },
      {
        scenario: '6 hung agent: retried',
        runs: n,
        expected: 'attempt 2 succeeds, card in review',
        observed: `${count('retried')}/${n} (history attempt 2, agent_runs hung then succeeded); ${seconds} s`,
        pass: count('retried') === n,
        details: perCard.map((p) => ({ card: p.card, phase: p.phase, attempts: p.activities.attempts, agentRuns: p.agentRuns })),
      },
      {
        scenario: '6 hung agent: no overlap',
        runs: n,
        expected: 'attempt 2 starts after attempt 1 is gone',
        observed: `${count('disjoint')}/${n} disjoint; attempt 2 started ${range(perCard.map((p) => p.gapMs))} after the frozen pid was seen gone`,
        pass: count('disjoint') === n,
        details: perCard.map((p) => ({ card: p.card, marker: p.marker, goneAt: `+${p.frozen.goneAt - p.frozen.stoppedAt}ms` })),
      },
      {
        scenario: '6 hung agent: late push fenced',
        runs: n,
        expected: 'rejected by lease, branch unchanged',
        observed: `${rejected}/${n} LeaseRejectedError with the frozen attempt's lease (${leases}); ${unchanged}/${n} branches still at the reviewed commit`,
        pass: count('fenced') === n,
        details: perCard.map((p) => ({ card: p.card, late: p.late })),
      },
    ] satisfies Row[];
  },
};
