import { finishAgentRun, getAgentRun, listAgentRuns, startAgentRun, type AgentRunStart } from '../../../src/db';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => test?.close());

const start = (over: Partial<AgentRunStart> = {}): AgentRunStart => ({
  cardKey: 'builtin:b1:c1',
  workflowId: 'card:builtin:b1:c1',
  runId: 'run-uuid-1',
  effectId: 'r1:agent:0',
  step: 'implement',
  attempt: 1,
  agent: 'claude-code',
  pid: 4242,
  ...over,
});

describe('agent runs', () => {
  it('starts a run with no end yet', async () => {
    const id = await startAgentRun(test.db, start({ cardKey: 'builtin:b1:fresh', workflowId: 'wf-fresh' }));
    expect(await getAgentRun(test.db, id)).toMatchObject({
      cardKey: 'builtin:b1:fresh',
      step: 'implement',
      attempt: 1,
      agent: 'claude-code',
      pid: 4242,
      endedAt: null,
      outcome: null,
      costUsd: null,
    });
  });

  it('keeps one row per attempt: recording the same start twice returns the same ID and the new pid', async () => {
    const first = await startAgentRun(test.db, start({ workflowId: 'wf-dup', pid: 100 }));
    const again = await startAgentRun(test.db, start({ workflowId: 'wf-dup', pid: 101 }));
    const retry = await startAgentRun(test.db, start({ workflowId: 'wf-dup', attempt: 2 }));
    expect(again).toBe(first);
    expect(retry).not.toBe(first);
    expect((await getAgentRun(test.db, first))!.pid).toBe(101);
  });

  it('finishes a run once, with tokens and an exact cost', async () => {
    const id = await startAgentRun(test.db, start({ workflowId: 'wf-finish' }));
    const finished = await finishAgentRun(test.db, id, {
      exitCode: 0,
      outcome: 'succeeded',
      summary: 'Fixed the login',
      tokensIn: 12000,
      tokensOut: 3400,
      costUsd: 0.0123,
    });
    expect(finished).toBe(true);
    const run = (await getAgentRun(test.db, id))!;
    expect(run).toMatchObject({ exitCode: 0, outcome: 'succeeded', summary: 'Fixed the login', tokensIn: 12000, tokensOut: 3400, costUsd: 0.0123 });
    expect(run.endedAt!.getTime()).toBeGreaterThanOrEqual(run.startedAt.getTime());

    // A late second report (say, a watchdog's) does not overwrite the first.
    expect(await finishAgentRun(test.db, id, { exitCode: null, outcome: 'hung' })).toBe(false);
    expect((await getAgentRun(test.db, id))!.outcome).toBe('succeeded');
    expect(await finishAgentRun(test.db, 999999, { exitCode: 1, outcome: 'failed' })).toBe(false);
  });

  it('lists a card’s runs oldest first', async () => {
    const cardKey = 'builtin:b1:listed';
    const ids = [];
    for (const attempt of [1, 2, 3]) ids.push(await startAgentRun(test.db, start({ cardKey, workflowId: 'wf-list', attempt })));
    await startAgentRun(test.db, start({ cardKey: 'builtin:b1:other', workflowId: 'wf-other' }));
    expect((await listAgentRuns(test.db, { cardKey })).map((r) => r.id)).toEqual(ids);
    expect((await listAgentRuns(test.db, { cardKey, limit: 2 })).map((r) => r.id)).toEqual(ids.slice(1));
  });
});
