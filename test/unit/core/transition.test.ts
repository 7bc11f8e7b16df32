import { branchNameForCard } from '../../../src/core/cards';
import { InvalidPipelineError, MAX_REMEMBERED_DELIVERIES, initialState, isQuiescent, isTerminal, reviseFrom } from '../../../src/core/state';
import { transition } from '../../../src/core/transition';
import type { CardState, Trigger } from '../../../src/core/types';
import {
  agentResult,
  failed,
  find,
  last,
  makeCard,
  moved,
  nextDelivery,
  publishResult,
  ref,
  run,
  started,
  succeeded,
  types,
  workspaceFor,
} from './support';

const fresh = (): CardState => initialState(makeCard());

/** Drives a one-step card to review and returns that state. */
function inReview(pipeline?: string[]): CardState {
  const { state } = started(pipeline);
  let current = state;
  for (const step of current.pipeline) current = transition(current, succeeded(`r1/agent/${step}/0`, agentResult(`did ${step}`))).state;
  return transition(current, succeeded('r1/publish/0', publishResult())).state;
}

describe('initialState', () => {
  it('starts idle with the default one-step pipeline', () => {
    const state = fresh();
    expect(state).toMatchObject({ phase: 'idle', pipeline: ['implement'], run: 0, round: 0, stepIndex: 0, inFlight: null, deliveries: [] });
    expect(isQuiescent(state)).toBe(true);
  });

  it.each([[[]], [['plan', 'plan']], [['a/b']], [['']], [['-x']]])('rejects the pipeline %j', (pipeline) => {
    expect(() => initialState(makeCard(), pipeline)).toThrow(InvalidPipelineError);
  });

  it('copies the pipeline it is given', () => {
    const pipeline = ['plan', 'implement'];
    const state = initialState(makeCard(), pipeline);
    pipeline.push('test');
    expect(state.pipeline).toEqual(['plan', 'implement']);
  });

  it('knows terminal phases and where revisions start', () => {
    expect(['idle', 'done', 'failed', 'cancelled'].every((p) => isTerminal(p as CardState['phase']))).toBe(true);
    expect(['preparing', 'working', 'publishing', 'review', 'revising'].some((p) => isTerminal(p as CardState['phase']))).toBe(false);
    expect(reviseFrom({ pipeline: ['plan', 'implement', 'test'] })).toBe(1);
    expect(reviseFrom({ pipeline: ['lint', 'test'] })).toBe(0);
    expect(reviseFrom({ pipeline: ['plan', 'docs', 'implement'], groups: [{ steps: ['docs', 'implement'], onFailure: 'fail-fast' }] })).toBe(1);
  });
});

describe('rule 1: delivery dedup', () => {
  it('applies a delivery once and ignores its repeat without any change', () => {
    const trigger = moved('working');
    const first = transition(fresh(), trigger);
    expect(first.state.deliveries).toEqual([trigger.type === 'card.moved' && trigger.deliveryId]);
    const again = transition(first.state, trigger);
    expect(again).toEqual({ state: first.state, effects: [], ignored: `duplicate delivery ${(trigger as { deliveryId: string }).deliveryId}` });
  });

  it('records the delivery ID of a trigger it ignores', () => {
    const result = transition(fresh(), { type: 'pr.merged', deliveryId: 'x1' });
    expect(result.ignored).toBeDefined();
    expect(result.effects).toEqual([]);
    expect(result.state).toEqual({ ...fresh(), deliveries: ['x1'] });
  });

  it('remembers at most MAX_REMEMBERED_DELIVERIES, dropping the oldest', () => {
    const full = { ...fresh(), deliveries: Array.from({ length: MAX_REMEMBERED_DELIVERIES }, (_, i) => `old${i}`) };
    const { state } = transition(full, { type: 'operator.cancel', deliveryId: 'new' });
    expect(state.deliveries).toHaveLength(MAX_REMEMBERED_DELIVERIES);
    expect(state.deliveries[0]).toBe('old1');
    expect(last(state.deliveries)).toBe('new');
  });
});

describe('rule 2: card info', () => {
  it('card.edited replaces the card and nothing else; in-flight effects keep their inputs', () => {
    const { state } = started();
    const edited = makeCard({ title: 'Renamed', body: 'new body' });
    const result = transition(state, { type: 'card.edited', card: edited, deliveryId: 'e1' });
    expect(result.ignored).toBeUndefined();
    expect(result.effects).toEqual([]);
    expect(result.state).toEqual({ ...state, card: edited, deliveries: [...state.deliveries, 'e1'] });
  });

  it('card.moved carrying card info takes it, even when the move itself is ignored', () => {
    const { state } = started();
    const edited = makeCard({ title: 'Moved and renamed' });
    const result = transition(state, moved('working', edited));
    expect(result.ignored).toMatch(/working while working/);
    expect(result.state.card).toBe(edited);
  });
});

describe('rule 3: starting a run', () => {
  it('moved to working from idle prepares the workspace on the card branch', () => {
    const { state, effects, ignored } = transition(fresh(), moved('working'));
    expect(ignored).toBeUndefined();
    expect(state).toMatchObject({ phase: 'preparing', run: 1, round: 0, stepIndex: 0, inFlight: { effectId: 'r1/prepare/0', kind: 'prepare' } });
    expect(types(effects)).toEqual(['prepareWorkspace', 'notify']);
    expect(find(effects, 'prepareWorkspace')).toEqual({ type: 'prepareWorkspace', effectId: 'r1/prepare/0', card: makeCard(), branch: branchNameForCard(ref, 'Add a health check') });
  });

  it('operator.retry starts a run from failed and also moves the card back to working', () => {
    const { state } = started();
    const failedState = transition(state, failed('r1/agent/implement/0')).state;
    const cleaned = transition(failedState, succeeded('r1/cleanup/0', { kind: 'cleanup' })).state;
    const { state: next, effects } = transition(cleaned, { type: 'operator.retry', deliveryId: 'op1' });
    expect(next).toMatchObject({ phase: 'preparing', run: 2, lastError: null, workspace: null, review: null, feedback: [] });
    expect(types(effects)).toEqual(['prepareWorkspace', 'moveCard', 'notify']);
    expect(find(effects, 'moveCard').column).toBe('working');
    // The retitled-or-not card keeps the branch its last workspace used.
    expect(find(effects, 'prepareWorkspace').branch).toBe(failedState.workspace?.branch);
  });

  it('operator.retry while running or in review is ignored', () => {
    const { state } = started();
    expect(transition(state, { type: 'operator.retry', deliveryId: 'op2' }).ignored).toBe('already running (working)');
    expect(transition(inReview(), { type: 'operator.retry', deliveryId: 'op3' }).ignored).toBe('already running (review)');
  });

  it('a card whose ref cannot give a safe branch fails instead of throwing', () => {
    const bad = initialState(makeCard({ ref: { provider: 'github', boardId: 'b', cardId: '../../etc' }, key: 'github:b:../../etc' }));
    const { state, effects } = transition(bad, moved('working'));
    expect(state).toMatchObject({ phase: 'failed', run: 1, inFlight: null });
    expect(state.lastError).toMatch(/card ID/);
    expect(types(effects)).toEqual(['comment', 'notify']);
  });
});

describe('rules 4-8: the happy path', () => {
  it('goes idle → preparing → working → publishing → review → done with deterministic effect IDs', () => {
    const card = makeCard();
    const branch = branchNameForCard(ref, card.title);
    const workspace = workspaceFor(branch);
    const steps = run(
      fresh(),
      moved('working'),
      succeeded('r1/prepare/0', { kind: 'prepare', workspace }),
      succeeded('r1/agent/implement/0', agentResult('Added /healthz')),
      succeeded('r1/publish/0', publishResult(7)),
      { type: 'review.approved', by: 'alice', deliveryId: 'a1' },
      succeeded('r1/cleanup/0', { kind: 'cleanup' }),
    );
    expect(steps.map((s) => s.state.phase)).toEqual(['preparing', 'working', 'publishing', 'review', 'done', 'done']);
    expect(steps.every((s) => s.ignored === undefined)).toBe(true);

    expect(find(steps[1]!.effects, 'runAgent')).toEqual({
      type: 'runAgent',
      effectId: 'r1/agent/implement/0',
      card,
      step: 'implement',
      stepIndex: 0,
      round: 0,
      feedback: [],
      workspace,
    });
    expect(steps[2]!.state.lastSummary).toBe('Added /healthz');
    expect(find(steps[2]!.effects, 'publish')).toEqual({ type: 'publish', effectId: 'r1/publish/0', card, workspace, round: 0 });

    const review = steps[3]!;
    expect(review.state.inFlight).toBeNull();
    expect(review.state.review?.url).toBe('https://example.test/pr/7');
    expect(review.state.workspace?.remoteSha).toBe('head111');
    expect(types(review.effects)).toEqual(['moveCard', 'comment', 'notify']);
    const comment = find(review.effects, 'comment');
    expect(comment.commentKey).toMatch(/^review\/r1-[0-9a-f]{8}\/0$/);
    expect(comment.text).toContain('https://example.test/pr/7');
    expect(comment.text).toContain('Added /healthz');

    const done = steps[4]!;
    expect(types(done.effects)).toEqual(['moveCard', 'notify', 'cleanupWorkspace']);
    expect(find(done.effects, 'moveCard').column).toBe('done');
    expect(find(done.effects, 'cleanupWorkspace')).toMatchObject({ effectId: 'r1/cleanup/0', workspace: { ...workspace, remoteSha: 'head111' } });
    expect(isQuiescent(done.state)).toBe(false);
    expect(isQuiescent(last(steps).state)).toBe(true);
  });

  it.each<[string, Trigger]>([
    ['pr.merged', { type: 'pr.merged', deliveryId: 'm1' }],
    ['moved to done', { type: 'card.moved', column: 'done', deliveryId: 'm2' }],
  ])('%s in review also finishes the card', (_, trigger) => {
    const { state, effects } = transition(inReview(), trigger);
    expect(state.phase).toBe('done');
    expect(types(effects)).toContain('cleanupWorkspace');
    // No point moving a card that a human has just moved to done.
    expect(types(effects).includes('moveCard')).toBe(trigger.type === 'pr.merged');
  });

  it('runs a 3-step pipeline in order, then publishes', () => {
    const { state } = started(['plan', 'implement', 'test']);
    expect(state.inFlight).toEqual({ effectId: 'r1/agent/plan/0', kind: 'agent', stepIndex: 0 });
    const steps = run(
      state,
      succeeded('r1/agent/plan/0', agentResult('planned')),
      succeeded('r1/agent/implement/0', agentResult('implemented')),
      succeeded('r1/agent/test/0', agentResult('tested')),
    );
    expect(steps.map((s) => s.effects.map((e) => (e.type === 'runAgent' ? `${e.stepIndex}:${e.step}` : e.type)))).toEqual([
      ['1:implement'],
      ['2:test'],
      ['publish'],
    ]);
    expect(last(steps).state).toMatchObject({ phase: 'publishing', lastSummary: 'tested' });
  });

  it('ignores stale results and results for effects that are not in flight', () => {
    const { state } = started(['plan', 'implement']);
    const next = transition(state, succeeded('r1/agent/plan/0', agentResult('planned'))).state;
    for (const trigger of [succeeded('r1/agent/plan/0', agentResult('again')), failed('r0/prepare/0'), succeeded('r1/cleanup/0', { kind: 'cleanup' })]) {
      const result = transition(next, trigger);
      expect(result).toEqual({ state: next, effects: [], ignored: expect.stringMatching(/^stale result/) });
    }
  });

  it('echoes of its own moves and approvals outside review are ignored', () => {
    const review = inReview();
    expect(transition(review, moved('review')).ignored).toMatch(/our own move/);
    expect(transition(review, moved('working')).ignored).toMatch(/working while review/);
    const { state } = started();
    expect(transition(state, { type: 'review.approved', deliveryId: 'a9' }).ignored).toMatch(/approval while working/);
    expect(transition(state, { type: 'review.changesRequested', comments: [], deliveryId: 'c9' }).ignored).toMatch(/changes requested while working/);
  });
});

describe('rule 8: revisions', () => {
  const comments = [{ author: 'bob', body: 'Rename the route', path: 'src/app.ts', line: 3 }];

  it('changes requested prepares the same branch again, then runs from implement with the feedback', () => {
    const review = inReview(['plan', 'implement', 'test']);
    const { state, effects } = transition(review, { type: 'review.changesRequested', comments, deliveryId: 'c1' });
    expect(state).toMatchObject({ phase: 'revising', round: 1, feedback: comments, inFlight: { effectId: 'r1/prepare/1', kind: 'prepare' } });
    expect(types(effects)).toEqual(['prepareWorkspace', 'moveCard', 'notify']);
    expect(find(effects, 'prepareWorkspace').branch).toBe(review.workspace?.branch);
    expect(find(effects, 'moveCard').column).toBe('working');

    const workspace = { ...workspaceFor(review.workspace!.branch), remoteSha: 'head111' };
    const steps = run(
      state,
      moved('working'), // our own move, echoed
      succeeded('r1/prepare/1', { kind: 'prepare', workspace }),
      succeeded('r1/agent/implement/1', agentResult('renamed')),
      succeeded('r1/agent/test/1', agentResult('tests pass')),
      succeeded('r1/publish/1', publishResult(7)),
    );
    expect(steps[0]!.ignored).toBeDefined();
    expect(find(steps[1]!.effects, 'runAgent')).toMatchObject({ effectId: 'r1/agent/implement/1', stepIndex: 1, round: 1, feedback: comments, workspace });
    expect(steps[1]!.state.phase).toBe('revising');
    expect(find(last(steps).effects, 'comment').commentKey).toMatch(/^review\/r1-[0-9a-f]{8}\/1$/);
    expect(last(steps).state.phase).toBe('review');
  });

  it('revises from the first step when the pipeline has no implement step', () => {
    const review = inReview(['draft', 'check']);
    const revising = transition(review, { type: 'review.changesRequested', comments, deliveryId: 'c2' }).state;
    const { effects } = transition(revising, succeeded('r1/prepare/1', { kind: 'prepare', workspace: review.workspace! }));
    expect(find(effects, 'runAgent')).toMatchObject({ step: 'draft', stepIndex: 0 });
  });

  it('pr.merged mid-revision finishes the card and stops the agent; cleanup follows its result', () => {
    const review = inReview();
    const revising = run(
      review,
      { type: 'review.changesRequested', comments, deliveryId: 'c3' },
      succeeded('r1/prepare/1', { kind: 'prepare', workspace: review.workspace! }),
    );
    const merged = transition(last(revising).state, { type: 'pr.merged', deliveryId: 'm3' });
    expect(merged.state.phase).toBe('done');
    expect(types(merged.effects)).toEqual(['cancelEffect', 'moveCard', 'notify']);
    const stopped = transition(merged.state, failed('r1/agent/implement/1', 'cancelled', true));
    expect(find(stopped.effects, 'cleanupWorkspace').effectId).toBe('r1/cleanup/1');
  });

  it('pr.closed / pr.merged before this run published ignore the old PR', () => {
    const { state } = started();
    expect(transition(state, { type: 'pr.closed', deliveryId: 'p1' }).ignored).toMatch(/before this run published/);
    expect(transition(state, { type: 'pr.merged', deliveryId: 'p2' }).ignored).toMatch(/before this run published/);
  });
});

describe('rule 9: failures', () => {
  it('an agent failure fails the run, says why on the card and cleans up', () => {
    const { state } = started(['plan', 'implement']);
    const { state: next, effects } = transition(state, failed('r1/agent/plan/0', 'agent exited with code 2'));
    expect(next).toMatchObject({ phase: 'failed', lastError: 'agent exited with code 2', inFlight: { effectId: 'r1/cleanup/0', kind: 'cleanup' } });
    expect(types(effects)).toEqual(['comment', 'notify', 'cleanupWorkspace']);
    const comment = find(effects, 'comment');
    expect(comment.commentKey).toMatch(/^failed\/r1-[0-9a-f]{8}$/);
    expect(comment.text).toContain('agent step 1/2 (plan)');
    expect(comment.text).toContain('agent exited with code 2');
    expect(comment.text).toMatch(/working column again/);
  });

  it('a prepare failure has nothing to clean up', () => {
    const start = transition(fresh(), moved('working')).state;
    const { state, effects } = transition(start, failed('r1/prepare/0', 'remote unreachable'));
    expect(state).toMatchObject({ phase: 'failed', inFlight: null });
    expect(types(effects)).toEqual(['comment', 'notify']);
    expect(isQuiescent(state)).toBe(true);
  });

  it('a result of the wrong kind fails the run instead of being trusted', () => {
    const { state } = started();
    const result = transition(state, succeeded('r1/agent/implement/0', publishResult()));
    expect(result.state.phase).toBe('failed');
    expect(result.state.lastError).toMatch(/agent effect returned a publish result/);
  });

  it('clips huge errors', () => {
    const { state } = started();
    const result = transition(state, failed('r1/agent/implement/0', 'x'.repeat(1_000_000)));
    expect(result.state.lastError!.length).toBeLessThanOrEqual(4000);
  });

  it('a failed cleanup still ends the run, with a notification', () => {
    const { state } = started();
    const failing = transition(state, failed('r1/agent/implement/0')).state;
    const { state: next, effects } = transition(failing, failed('r1/cleanup/0', 'worktree locked'));
    expect(next.inFlight).toBeNull();
    expect(types(effects)).toEqual(['notify']);
    expect(isQuiescent(next)).toBe(true);
  });

  it('terminal phases ignore everything but a restart', () => {
    const start = transition(fresh(), moved('working')).state;
    const failedState = transition(start, failed('r1/prepare/0')).state;
    const triggers: Trigger[] = [
      { type: 'review.approved', deliveryId: nextDelivery() },
      { type: 'review.changesRequested', comments: [], deliveryId: nextDelivery() },
      { type: 'pr.merged', deliveryId: nextDelivery() },
      { type: 'pr.closed', deliveryId: nextDelivery() },
      { type: 'card.deleted', deliveryId: nextDelivery() },
      { type: 'operator.cancel', deliveryId: nextDelivery() },
      moved('done'),
      moved('other'),
    ];
    for (const trigger of triggers) {
      const result = transition(failedState, trigger);
      expect(result.ignored).toBeDefined();
      expect(result.state.phase).toBe('failed');
      expect(result.effects).toEqual([]);
    }
  });
});

describe('rule 10: cancellation', () => {
  it('moving the card out mid-agent cancels the agent, then cleans up once it has stopped', () => {
    const { state } = started();
    const cancel = transition(state, moved('other'));
    expect(cancel.state).toMatchObject({ phase: 'cancelled', inFlight: { effectId: 'r1/agent/implement/0' } });
    expect(types(cancel.effects)).toEqual(['cancelEffect', 'comment', 'notify']);
    expect(find(cancel.effects, 'cancelEffect').effectId).toBe('r1/agent/implement/0');
    expect(find(cancel.effects, 'comment').commentKey).toMatch(/^cancelled\/r1-[0-9a-f]{8}$/);
    expect(isQuiescent(cancel.state)).toBe(false);

    const stopped = transition(cancel.state, failed('r1/agent/implement/0', 'cancelled', true));
    expect(types(stopped.effects)).toEqual(['cleanupWorkspace']);
    const cleaned = transition(stopped.state, succeeded('r1/cleanup/0', { kind: 'cleanup' }));
    expect(cleaned.state.phase).toBe('cancelled');
    expect(isQuiescent(cleaned.state)).toBe(true);
  });

  it('a prepare that succeeds after the cancel is cleaned up with the workspace it reports', () => {
    const preparing = transition(fresh(), moved('working')).state;
    const cancelled = transition(preparing, { type: 'operator.cancel', deliveryId: 'oc1' }).state;
    const workspace = workspaceFor('ouija/late');
    const { effects } = transition(cancelled, succeeded('r1/prepare/0', { kind: 'prepare', workspace }));
    expect(find(effects, 'cleanupWorkspace').workspace).toEqual(workspace);
  });

  it('a prepare that fails after the cancel leaves nothing in flight', () => {
    const preparing = transition(fresh(), moved('working')).state;
    const cancelled = transition(preparing, { type: 'card.deleted', deliveryId: 'del1' }).state;
    const { state, effects } = transition(cancelled, failed('r1/prepare/0', 'cancelled', true));
    expect(effects).toEqual([]);
    expect(isQuiescent(state)).toBe(true);
  });

  it('cancelling in review cleans up at once (nothing is in flight)', () => {
    const { state, effects } = transition(inReview(), { type: 'pr.closed', deliveryId: 'pc1' });
    expect(state.phase).toBe('cancelled');
    expect(types(effects)).toEqual(['comment', 'notify', 'cleanupWorkspace']);
  });

  it('an effect cancelled without being asked ends the run as cancelled', () => {
    const { state } = started();
    const { state: next, effects } = transition(state, failed('r1/agent/implement/0', 'activity cancelled', true));
    expect(next.phase).toBe('cancelled');
    expect(types(effects)).toEqual(['comment', 'notify', 'cleanupWorkspace']);
  });
});

describe('restarting while the last run is stopping', () => {
  it('waits for the cancelled agent and its cleanup, then starts run 2', () => {
    const { state } = started();
    const steps = run(state, moved('other'), moved('working'));
    const waiting = last(steps);
    expect(waiting.state).toMatchObject({ phase: 'cancelled', restartRequested: true });
    expect(waiting.effects).toEqual([]);
    expect(transition(waiting.state, { type: 'operator.retry', deliveryId: 'r9' }).ignored).toBe('restart already requested');

    const stopped = transition(waiting.state, failed('r1/agent/implement/0', 'cancelled', true));
    expect(types(stopped.effects)).toEqual(['cleanupWorkspace']);
    const restarted = transition(stopped.state, succeeded('r1/cleanup/0', { kind: 'cleanup' }));
    expect(restarted.state).toMatchObject({ phase: 'preparing', run: 2, restartRequested: false, inFlight: { effectId: 'r2/prepare/0' } });
    expect(types(restarted.effects)).toEqual(['prepareWorkspace', 'notify']);
  });

  it('starts at once when the stopped effect leaves no workspace', () => {
    const preparing = transition(fresh(), moved('working')).state;
    const waiting = run(preparing, moved('other'), moved('working'));
    const { state } = transition(last(waiting).state, failed('r1/prepare/0', 'cancelled', true));
    expect(state).toMatchObject({ phase: 'preparing', run: 2, inFlight: { effectId: 'r2/prepare/0' } });
  });

  it('a restart request is withdrawn when the card leaves the working column again', () => {
    const { state } = started();
    const steps = run(state, moved('other'), moved('working'), moved('other'));
    expect(last(steps).state.restartRequested).toBe(false);
    const stopped = transition(last(steps).state, failed('r1/agent/implement/0', 'cancelled', true));
    const cleaned = transition(stopped.state, succeeded('r1/cleanup/0', { kind: 'cleanup' }));
    expect(cleaned.state.phase).toBe('cancelled');
    expect(isQuiescent(cleaned.state)).toBe(true);
  });
});
