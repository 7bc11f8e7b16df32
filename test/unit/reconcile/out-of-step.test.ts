/** The reconciler's one decision: which board/workflow disagreements a lost webhook explains. */
import { changeTimeDecides, outOfStep } from '../../../src/reconcile/out-of-step';
import { reconcileDeliveryId } from '../../../src/reconcile/reconciler';
import type { WorkflowView } from '../../../src/reconcile/types';
import type { Phase } from '../../../src/core/types';

const running = (phase: Phase | null): WorkflowView => ({ status: 'running', phase, closedAt: null });
const closed = (phase: Phase | null, closedAt: Date | null = new Date('2024-01-01T12:00:00Z')): WorkflowView => ({ status: 'closed', phase, closedAt });
const before = new Date('2024-01-01T11:00:00Z');
const after = new Date('2024-01-01T13:00:00Z');

describe('a card in a working column', () => {
  test('without a workflow is out of step (the move to working was lost)', () => {
    expect(outOfStep({ role: 'working', changedAt: before }, null)).toMatch(/no workflow/);
  });

  test.each<Phase>(['idle', 'preparing', 'working', 'publishing', 'revising', 'review', 'failed', 'cancelled', 'done'])(
    'with a running workflow in %s is left alone',
    (phase) => {
      expect(outOfStep({ role: 'working', changedAt: after }, running(phase))).toBeNull();
    },
  );

  test.each<Phase | null>(['failed', 'cancelled', 'done', 'idle', null])('whose workflow closed (%s) after the card last changed is left alone', (phase) => {
    expect(outOfStep({ role: 'working', changedAt: before }, closed(phase))).toBeNull();
  });

  test('moved again after its workflow closed is out of step', () => {
    expect(outOfStep({ role: 'working', changedAt: after }, closed('failed'))).toMatch(/closed \(failed\) before the card last changed/);
  });

  test('with a closed workflow and no change time is out of step (delivery IDs bound it to once per board state)', () => {
    expect(outOfStep({ role: 'working' }, closed('done'))).toMatch(/closed/);
    expect(outOfStep({ role: 'working', changedAt: before }, closed('done', null))).toMatch(/closed/);
  });
});

describe('a card in a review column', () => {
  test('without a workflow is out of step', () => {
    expect(outOfStep({ role: 'review', changedAt: before }, null)).toMatch(/review column but has no workflow/);
  });

  test.each<Phase>(['review', 'revising', 'working', 'publishing'])('with a running workflow in %s is left alone (the workflow moves cards itself)', (phase) => {
    expect(outOfStep({ role: 'review', changedAt: after }, running(phase))).toBeNull();
  });

  test('with a closed workflow is left alone', () => {
    expect(outOfStep({ role: 'review', changedAt: after }, closed('cancelled'))).toBeNull();
  });
});

test.each(['done', 'other'] as const)('a card in a %s column is never out of step', (role) => {
  expect(outOfStep({ role }, null)).toBeNull();
  expect(outOfStep({ role }, closed('failed'))).toBeNull();
});

test('the change time is looked up only where it decides: a working card whose workflow closed', () => {
  expect(changeTimeDecides('working', closed('failed'))).toBe(true);
  expect(changeTimeDecides('working', running('working'))).toBe(false);
  expect(changeTimeDecides('working', null)).toBe(false);
  expect(changeTimeDecides('review', closed('cancelled'))).toBe(false);
  expect(changeTimeDecides('done', closed('done'))).toBe(false);
  // Where it is false, outOfStep's answer does not depend on changedAt.
  for (const [role, workflow] of [['working', running('working')], ['working', null], ['review', closed('cancelled')], ['review', null]] as const) {
    expect(outOfStep({ role, changedAt: before }, workflow)).toBe(outOfStep({ role, changedAt: after }, workflow));
    expect(outOfStep({ role }, workflow)).toBe(outOfStep({ role, changedAt: after }, workflow));
  }
});

test('the delivery ID names the card, the column role and the board version', () => {
  expect(reconcileDeliveryId('builtin:b1:7', 'working', 'v3')).toBe('reconcile:builtin:b1:7:working:v3');
});
