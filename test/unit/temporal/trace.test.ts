import { initialState } from '../../../src/core/state';
import { transition } from '../../../src/core/transition';
import type { CardState } from '../../../src/core/types';
import { cardInputOf, traceHistory, triggersOf } from '../../../src/temporal/trace';
import { CARD, HistoryBuilder, PREPARED, WORKSPACE } from './history-builder';

const moved = (column: 'working' | 'other', deliveryId: string) => ({ type: 'card.moved' as const, column, deliveryId });

/** Started, moved to working, one workflow task: the prepare effect and a background notify are scheduled. */
function preparing(): { b: HistoryBuilder; prepare: number; notify: number } {
  const b = new HistoryBuilder();
  b.signal(moved('working', 'd1'));
  b.workflowTask();
  const prepare = b.schedule('prepareWorkspace', 'r1/prepare/0');
  const notify = b.schedule('notify', '1');
  return { b, prepare, notify };
}

test('within one workflow task, signals are processed before activity results, whatever their order in the history', () => {
  const { b, prepare, notify } = preparing();
  b.complete(notify, null);
  const prepared = b.complete(prepare, PREPARED);
  const movedAway = b.signal(moved('other', 'd2'));
  b.workflowTask();

  const steps = traceHistory(b.build());
  expect(steps.map((s) => s.eventId)).toEqual([2, movedAway, prepared]);
  expect(steps.map((s) => s.after.phase)).toEqual(['preparing', 'cancelled', 'cancelled']);
  // The move stopped the run while the workspace was being prepared, so the result only leads to cleanup.
  expect(steps[1]!.effects.map((e) => e.type)).toEqual(['cancelEffect', 'comment', 'notify']);
  expect(steps[2]!.effects).toEqual([expect.objectContaining({ type: 'cleanupWorkspace', workspace: WORKSPACE })]);
});

test('across workflow tasks, triggers keep history order', () => {
  const { b, prepare } = preparing();
  const prepared = b.complete(prepare, PREPARED);
  b.workflowTask();
  b.schedule('runAgent', 'r1/agent/implement/0');
  const movedAway = b.signal(moved('other', 'd2'));
  b.workflowTask();

  const steps = traceHistory(b.build());
  expect(steps.map((s) => s.eventId)).toEqual([2, prepared, movedAway]);
  expect(steps.map((s) => s.after.phase)).toEqual(['preparing', 'working', 'cancelled']);
  expect(steps[2]!.effects[0]).toEqual({ type: 'cancelEffect', effectId: 'r1/agent/implement/0' });
});

test('each step is transition() of the previous state; background results and other signals are no triggers', () => {
  const { b, prepare, notify } = preparing();
  b.complete(notify, null);
  b.signal({ type: 'operator.cancel', deliveryId: 'x' }, 'somethingElse');
  b.complete(prepare, PREPARED);
  b.workflowTask();

  const steps = traceHistory(b.build());
  expect(steps.map((s) => s.trigger.type)).toEqual(['card.moved', 'effect.succeeded']);
  expect(steps[0]!.before).toEqual(initialState(CARD));
  let state: CardState = steps[0]!.before;
  for (const s of steps) {
    expect(s.before).toBe(state);
    const r = transition(state, s.trigger);
    expect(s.after).toEqual(r.state);
    expect(s.effects).toEqual(r.effects);
    state = s.after;
  }
});

test('failed, timed-out and cancelled lifecycle activities become effect.failed as the workflow makes them', () => {
  const { b, prepare } = preparing();
  b.fail(prepare, 'git fetch failed: remote hung up');
  b.workflowTask();
  const failed = triggersOf(b.build()).at(-1)!.trigger;
  expect(failed).toEqual({ type: 'effect.failed', effectId: 'r1/prepare/0', error: 'git fetch failed: remote hung up', retryable: false, cancelled: false });

  const t = preparing();
  t.b.timeOut(t.prepare);
  t.b.workflowTask();
  expect(triggersOf(t.b.build()).at(-1)!.trigger).toMatchObject({ type: 'effect.failed', error: 'activity Heartbeat timeout', cancelled: false });

  const c = preparing();
  c.b.cancel(c.prepare);
  c.b.workflowTask();
  expect(triggersOf(c.b.build()).at(-1)!.trigger).toEqual({
    type: 'effect.failed',
    effectId: 'r1/prepare/0',
    error: 'Activity cancelled',
    retryable: false,
    cancelled: true,
  });
  const steps = traceHistory(b.build());
  expect(steps.at(-1)!.after).toMatchObject({ phase: 'failed', lastError: 'git fetch failed: remote hung up' });
});

test('after continue-as-new: starts from the carried state and processes the carried inbox first', () => {
  const review: CardState = { ...initialState(CARD), phase: 'review', run: 1, deliveries: ['d1'], workspace: WORKSPACE };
  const b = new HistoryBuilder({ card: CARD, carried: { state: review, inbox: [{ type: 'review.approved', deliveryId: 'd9' }] } });
  b.workflowTask();
  b.signal(moved('working', 'd1'));
  b.workflowTask();

  const steps = traceHistory(b.build());
  expect(steps.map((s) => [s.origin, s.eventId, s.trigger.type])).toEqual([
    ['carried', 1, 'review.approved'],
    ['signal', 5, 'card.moved'],
  ]);
  expect(steps[0]!.before).toEqual(review);
  expect(steps[0]!.after.phase).toBe('done');
  expect(steps[1]!.ignored).toBe('duplicate delivery d1');
});

test('triggers delivered after the last completed workflow task are marked pending', () => {
  const { b } = preparing();
  b.signal(moved('other', 'd2'));
  const steps = traceHistory(b.build());
  expect(steps.map((s) => s.pending ?? false)).toEqual([false, true]);
});

test('a history that is not a card workflow is refused', () => {
  expect(() => cardInputOf({ events: [] })).toThrow(/WorkflowExecutionStarted/);
  const b = new HistoryBuilder({ card: undefined } as never);
  expect(() => traceHistory(b.build())).toThrow(/not a card workflow/);
});
