/**
 * Every log line an activity writes carries its card, workflow, run, activity and attempt, and the SDK's
 * own lines routed through the runtime logger get the card key too.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { MockActivityEnvironment } from '@temporalio/testing';
import { activityLogger, createBoardActivities } from '../../../activities';
import type { CardInfo } from '../../../src/core/types';
import type { BoardClient } from '../../../src/plugins/kanban/types';
import { withCardContext } from '../../../workers/queues';

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, destination), lines };
}

const card: CardInfo = { ref: { provider: 'builtin', boardId: 'b1', cardId: 'c7' }, key: 'builtin:b1:c7', title: 'Log me', body: '', repo: '/tmp/repo.git' };
const info = {
  activityId: 'r1/moveCard/0',
  activityType: 'moveCard',
  attempt: 3,
  workflowExecution: { workflowId: 'card:builtin:b1:c7', runId: 'run-1234' },
};

test("an activity's log line carries card, workflowId, runId, activityId and attempt", async () => {
  const { log, lines } = capturingLogger();
  const moved: string[] = [];
  const board: BoardClient = { moveCard: async (_c, column) => void moved.push(column), comment: async () => undefined };
  const activities = createBoardActivities({ builtin: board }, log);

  await new MockActivityEnvironment(info).run(activities.moveCard, { type: 'moveCard', card, column: 'review' } as const);

  expect(moved).toEqual(['review']);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    msg: 'card moved on its board',
    card: 'builtin:b1:c7',
    workflowId: 'card:builtin:b1:c7',
    runId: 'run-1234',
    activityId: 'r1/moveCard/0',
    activityType: 'moveCard',
    attempt: 3,
    column: 'review',
  });
});

test('activityLogger leaves card out for a workflow that is not a card', async () => {
  const { log, lines } = capturingLogger();
  const other = { ...info, workflowExecution: { workflowId: 'reconciler', runId: 'run-9' } };
  await new MockActivityEnvironment(other).run(async () => activityLogger(log).info('hello'));
  expect(lines[0]).toMatchObject({ workflowId: 'reconciler', runId: 'run-9' });
  expect(lines[0]).not.toHaveProperty('card');
});

test("the SDK's log metadata gets the card key and Ouija's runId, without the task token", () => {
  expect(withCardContext({ workflowId: 'card:builtin:b1:c7', runId: 'run-1', sdkComponent: 'workflow' })).toEqual({
    workflowId: 'card:builtin:b1:c7',
    runId: 'run-1',
    card: 'builtin:b1:c7',
    sdkComponent: 'workflow',
  });
  expect(withCardContext({ workflowId: 'card:builtin:b1:c7', workflowRunId: 'run-2', taskToken: 'secret', attempt: 1 })).toEqual({
    workflowId: 'card:builtin:b1:c7',
    runId: 'run-2',
    card: 'builtin:b1:c7',
    attempt: 1,
  });
  expect(withCardContext(undefined)).toEqual({});
});
