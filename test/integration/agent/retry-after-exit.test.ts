/**
 * A retry of an agent step whose agent already finished does not run it again. The agent activity runs in
 * Temporal's mock activity environment (attempt numbers and the workflow run are set by hand) against a real
 * Postgres, a real worktree and the real demo agent, whose marker file counts its process starts. A worker that
 * died after the agent's exit is re-created by rolling the run's row back to what that moment left.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createAgentActivities } from '../../../activities/agent';
import type { EffectOf, ResultOf } from '../../../activities/types';
import { createBareRemote } from '../../../src/cli/local-repo';
import { listAgentRuns } from '../../../src/db';
import { commandAdapter } from '../../../src/plugins/agent';
import { demoAgentCommand } from '../../../src/plugins/agent/demo';
import { createWorkspaces } from '../../../src/plugins/git';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { git } from './helpers';

let root: string;
let database: TestDatabase;
let effect: EffectOf<'runAgent'>;
let marker: string;
let activities: ReturnType<typeof createAgentActivities>;
const execution = { workflowId: 'card:builtin:retry:1', runId: '7d1f0c2e-0000-4000-8000-000000000001' };

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-retry-after-exit-'));
  database = await createTestDatabase({ migrate: true });
  const remote = await createBareRemote(path.join(root, 'remote.git'));
  const workspaces = createWorkspaces({ root: path.join(root, 'workspaces') });
  marker = path.join(root, 'agent.marker');
  const card = { ref: { provider: 'builtin' as const, boardId: 'retry', cardId: '1' }, key: 'builtin:retry:1', title: 'Retry after exit', body: `ouija-demo: marker=${marker}`, repo: remote };
  const branch = 'ouija/1-retry-after-exit-0000abcd';
  const workspace = await workspaces.prepare({ cardKey: card.key, repo: remote, branch });
  effect = { type: 'runAgent', effectId: 'r1-agent-implement-0', card, step: 'implement', stepIndex: 0, round: 0, feedback: [], workspace };
  activities = createAgentActivities({
    db: database.db,
    workspaces,
    // Unsandboxed on purpose: the agent counts its starts in a marker file of the test's, outside its worktree.
    agentFor: () => ({ adapter: commandAdapter(demoAgentCommand()), silenceTimeoutMs: 30_000, passEnv: [], env: {}, sandbox: 'none' }),
    runsRoot: path.join(root, 'runs'),
  });
});
afterAll(async () => {
  await database?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function attempt(n: number): Promise<{ result: ResultOf<'agent'> }> {
  const env = new MockActivityEnvironment({ attempt: n, workflowExecution: execution, activityType: 'runAgent' }, { logger: new DefaultLogger('ERROR') });
  return { result: await env.run((e: EffectOf<'runAgent'>) => activities.runAgent(e, { maxFailures: 3 }), effect) };
}

const starts = () => fs.readFileSync(marker, 'utf8').split('\n').filter((l) => l.startsWith('start ')).length;

/** The run's row as a worker that died after the agent's exit, before judging it, left it. */
async function unjudge(id: number): Promise<void> {
  await database.db.updateTable('agent_runs').set({ outcome: null, ended_at: null, head_sha: null }).where('id', '=', id).execute();
}

test('attempt 1 runs the agent; a retry reports its recorded success without starting the agent again', async () => {
  const first = await attempt(1);
  expect(starts()).toBe(1);
  const [run] = await listAgentRuns(database.db, { cardKey: effect.card.key });
  expect(run).toMatchObject({ attempt: 1, outcome: 'succeeded', exitCode: 0, headSha: first.result.headSha });

  const again = await attempt(2);
  expect(starts()).toBe(1);
  expect(again.result).toEqual(first.result);
  expect(await listAgentRuns(database.db, { cardKey: effect.card.key })).toHaveLength(1);
});

test('an exit that was never judged is judged by the retry: succeeded, with its commit, no second agent', async () => {
  const [run] = await listAgentRuns(database.db, { cardKey: effect.card.key });
  await unjudge(run!.id);
  const retried = await attempt(3);
  expect(starts()).toBe(1);
  expect(retried.result.headSha).toBe(run!.headSha);
  const [judged] = await listAgentRuns(database.db, { cardKey: effect.card.key });
  expect(judged).toMatchObject({ id: run!.id, outcome: 'succeeded', headSha: run!.headSha });
  expect(judged!.endedAt).not.toBeNull();
});

test('when the worktree no longer holds that work (reset to the start), the agent runs again', async () => {
  const [run] = await listAgentRuns(database.db, { cardKey: effect.card.key });
  await unjudge(run!.id);
  git(effect.workspace.path, ['reset', '--quiet', '--hard', effect.workspace.baseSha]);
  const retried = await attempt(4);
  expect(starts()).toBe(2);
  expect(retried.result.headSha).not.toBe(effect.workspace.baseSha);
  const runs = await listAgentRuns(database.db, { cardKey: effect.card.key });
  expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([
    [1, null],
    [4, 'succeeded'],
  ]);
});
