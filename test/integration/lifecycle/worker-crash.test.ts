/**
 * Workers that die do not cost a card its attempts, and an agent that finished is not run again because its
 * worker died before Temporal heard. The agents queue is served by a separate worker process
 * (test/reliability/support/killable-worker.ts) that SIGKILLs itself at a planned point and is restarted:
 * twice mid-agent, once right after the agent activity returned its result. The step has ONE attempt
 * (`agent.maxAttempts: 1`): before the failure budget, the first kill failed the card.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { git } from '../../../src/cli/local-repo';
import { listAgentRuns } from '../../../src/db';
import { TASK_QUEUES, hostQueue } from '../../../workflows/messages';
import { startKillableWorker, stopKillableWorker, type KillableWorker } from '../../reliability/support/killable-process';
import type { KillPlan, KillRecord, KillTarget } from '../../reliability/support/killable-worker';
import { moveToWork } from '../../support/agent-cli';
import { startHarness, workersOf, type Harness } from '../../support/ouija-harness';

let h: Harness;
let worker: KillableWorker | undefined;
let bundlePath: string;

beforeAll(async () => {
  // Unsandboxed: the demo agent's marker file (its start and end lines) is where this test reads it.
  h = await startHarness({ agent: { maxAttempts: 1, heartbeatTimeoutMs: 2_000, sandbox: 'none' }, activities: { heartbeatTimeoutMs: 2_000 } });
  // Only the killable process may run agents: stop the harness's own agents workers (the shared queue and this host's
  // own; the killable process has the same data directory, so it is the same host and serves the same host queue).
  const agentWorkers = workersOf(h, 'agents');
  expect(agentWorkers.map((w) => w.options.taskQueue).sort()).toEqual([TASK_QUEUES.agents, hostQueue(h.ouija.hostId!, 'agents')]);
  await Promise.all(agentWorkers.map((w) => w.shutdown()));
  bundlePath = path.join(h.workDir, 'workflows.js');
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../../workflows'), logger: new DefaultLogger('WARN') });
  fs.writeFileSync(bundlePath, bundle.code);
});
afterAll(async () => {
  if (worker) await stopKillableWorker(worker);
  await h?.stop();
});

function startWorker(targets: KillTarget[], killLog: string): Promise<KillableWorker> {
  const plan: KillPlan = { targets, killLog, remote: h.remote, agentDelayMs: 300, armAt: 0 };
  return startKillableWorker({
    ...process.env,
    OUIJA_KILLABLE_CONFIG: JSON.stringify({ ...h.config, secrets: {} }),
    OUIJA_KILL_PLAN: JSON.stringify(plan),
    OUIJA_TEST_WORKFLOW_BUNDLE: bundlePath,
    OUIJA_LOG_LEVEL: 'warn',
  });
}

function markerLines(file: string, what: 'start' | 'end'): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith(`${what} `)) : [];
}

test('two kills mid-agent and one after its success: one attempt suffices, the agent finishes once', async () => {
  const marker = path.join(h.workDir, 'agent.marker');
  const c = await h.newCard('Survive three crashes', `ouija-demo: sleep=1500 marker=${marker}`);
  let targets: KillTarget[] = (['agent', 'agent', 'agent-done'] as const).map((point) => ({ card: c.cardKey, point, marker }));
  const kills: KillRecord[] = [];
  await moveToWork(h, c);
  while (targets.length > 0) {
    const killLog = path.join(h.workDir, `kill-${kills.length}.json`);
    worker = await startWorker(targets, killLog);
    const exit = await worker.exited;
    expect(exit.signal).toBe('SIGKILL');
    const record = JSON.parse(fs.readFileSync(killLog, 'utf8')) as KillRecord;
    kills.push(record);
    targets = targets.slice(1);
  }
  expect(kills.map((k) => [k.target.point, k.attempt])).toEqual([
    ['agent', 1],
    ['agent', 2],
    ['agent-done', 3],
  ]);
  // The kill after success came after the agent's last line and its recorded success.
  expect(markerLines(marker, 'end')).toHaveLength(1);

  worker = await startWorker([], path.join(h.workDir, 'kill-none.json'));
  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'the card to settle', 120_000);
  expect(review.phase).toBe('review');

  // Three agent processes started; only the third finished, and attempt 4 reported its run instead of a fourth.
  expect(markerLines(marker, 'start')).toHaveLength(3);
  expect(markerLines(marker, 'end')).toHaveLength(1);
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([
    [1, null], // their worker died with them: nobody recorded an end
    [2, null],
    [3, 'succeeded'],
  ]);
  // What was pushed is the commit the succeeded run recorded.
  expect(await git(h.remote, 'rev-parse', `refs/heads/${review.workspace!.branch}`)).toBe(runs[2]!.headSha);
  const history = await h.ouija.temporal.workflow.getHandle(c.workflowId).fetchHistory();
  const agentStarts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === 4);
  expect(agentStarts).toHaveLength(1);
});
