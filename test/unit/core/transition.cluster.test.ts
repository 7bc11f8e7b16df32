/**
 * The cluster rules of transition(): cluster-wide slots (agents at once, cards in review per board) and moving a run
 * to another host when the one holding its worktree is lost. Properties over arbitrary sequences are in
 * transition.properties.test.ts; these are the cases spelt out.
 */
import { initialState, limiterOf, readState } from '../../../src/core/state';
import { MAX_MOVES } from '../../../src/core/transition';
import type { CardLimits, CardState, Effect, Trigger, Workspace } from '../../../src/core/types';
import { agentResult, failed, find, makeCard, moved, publishResult, ref, run, succeeded, types, workspaceFor } from './support';

const LIMITS: CardLimits = { agents: 3, review: 2 };
const onHost = (host: string, branch = 'ouija/42-add-a-health-check-dacfb3f7'): Workspace => ({ ...workspaceFor(branch), host });
const grant = (token: string, pool: 'agents' | 'review' = 'agents'): Trigger => ({ type: 'slot.granted', pool, token });
const hostLost = (effectId: string): Trigger => ({ type: 'effect.failed', effectId, error: 'activity ScheduleToStart timeout', retryable: false, hostLost: true });
const slotEffects = (effects: Effect[]) => effects.filter((e) => e.type === 'acquireSlot' || e.type === 'releaseSlot');

/** A card under limits, started and prepared on `host`: now waiting for its first agent slot. */
function queuedForAgent(limits: CardLimits = LIMITS, pipeline?: string[], host = 'h1'): CardState {
  const [, prepared] = run(initialState(makeCard(), pipeline, limits), moved('working'), succeeded('r1/prepare/0', { kind: 'prepare', workspace: onHost(host) }));
  return prepared!.state;
}

describe('agent slots', () => {
  it('waits in queued for a slot of the cluster-wide pool before the step, runs the agent once granted, gives it back after', () => {
    const queued = queuedForAgent();
    expect(queued).toMatchObject({ phase: 'queued', inFlight: { kind: 'slot', pool: 'agents', effectId: 'r1/slot/agents-implement/0', stepIndex: 0 } });

    const [granted, done] = run(queued, grant('r1/slot/agents-implement/0'), succeeded('r1/agent/implement/0', agentResult('did it')));
    expect(granted!.state.phase).toBe('working');
    expect(granted!.state.slots).toEqual([{ pool: 'agents', token: 'r1/slot/agents-implement/0' }]);
    expect(types(granted!.effects)).toEqual(['runAgent']);
    // The agent has exited: its slot goes back before the review slot is asked for.
    expect(slotEffects(done!.effects)).toEqual([
      { type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' },
      { type: 'acquireSlot', pool: 'review', limiter: limiterOf('review', ref), token: 'r1/slot/review/0', count: 1, max: 2 },
    ]);
    expect(done!.state).toMatchObject({ phase: 'queued', slots: [], inFlight: { kind: 'slot', pool: 'review' } });
  });

  it('asks for the whole group at once before a parallel group', () => {
    const queued = queuedForAgent(LIMITS, undefined);
    const [granted] = run(queued, grant('r1/slot/agents-implement/0'));
    const [plan] = run(
      initialState(makeCard(), ['plan', { parallel: ['implement', 'docs'] }], LIMITS),
      moved('working'),
      succeeded('r1/prepare/0', { kind: 'prepare', workspace: onHost('h1') }),
      grant('r1/slot/agents-plan/0'),
      succeeded('r1/agent/plan/0', agentResult('planned')),
    ).slice(-1);
    expect(granted!.state.phase).toBe('working');
    expect(find(plan!.effects, 'acquireSlot')).toMatchObject({ token: 'r1/slot/agents-implement/0', count: 2, max: 3 });
  });

  it('withdraws the ask when the card is cancelled while queued, and hands back a grant that arrives after', () => {
    const queued = queuedForAgent();
    const [cancelled, late] = run(queued, moved('other'), grant('r1/slot/agents-implement/0'));
    expect(cancelled!.state.phase).toBe('cancelled');
    expect(slotEffects(cancelled!.effects)).toEqual([{ type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' }]);
    expect(types(cancelled!.effects)).toContain('cleanupWorkspace');
    expect(late!.effects).toEqual([{ type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' }]);
    expect(late!.state.slots).toEqual([]);
  });

  it('keeps the agent slot of a cancelled run until its agent has stopped', () => {
    const [running] = run(queuedForAgent(), grant('r1/slot/agents-implement/0'));
    const [stopping, stopped] = run(running!.state, moved('other'), failed('r1/agent/implement/0', 'cancelled', true));
    expect(slotEffects(stopping!.effects)).toEqual([]);
    expect(types(stopping!.effects)).toContain('cancelEffect');
    expect(slotEffects(stopped!.effects)).toEqual([{ type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' }]);
  });

  it('ignores a second grant of a slot it holds', () => {
    const [running, again] = run(queuedForAgent(), grant('r1/slot/agents-implement/0'), grant('r1/slot/agents-implement/0'));
    expect(again!.ignored).toMatch(/held already/);
    expect(again!.state).toBe(running!.state);
  });
});

describe('review slots', () => {
  function inReview(): CardState {
    const [, , , review] = run(
      queuedForAgent(),
      grant('r1/slot/agents-implement/0'),
      succeeded('r1/agent/implement/0', agentResult('did it')),
      grant('r1/slot/review/0', 'review'),
      succeeded('r1/publish/0', publishResult()),
    );
    return review!.state;
  }

  it('publishes with a slot of the board, holds it through revisions and gives it back when the card is done', () => {
    const review = inReview();
    expect(review).toMatchObject({ phase: 'review', slots: [{ pool: 'review', token: 'r1/slot/review/0' }] });
    const [revising] = run(review, { type: 'review.changesRequested', deliveryId: 'cr1', comments: [{ author: 'a', body: 'more' }] });
    expect(slotEffects(revising!.effects)).toEqual([]);
    expect(find(revising!.effects, 'prepareWorkspace')).toMatchObject({ host: 'h1' });
    const [approved] = run(review, { type: 'review.approved', deliveryId: 'ok1' });
    expect(slotEffects(approved!.effects)).toEqual([{ type: 'releaseSlot', pool: 'review', limiter: 'review:github:acme-repo', token: 'r1/slot/review/0' }]);
    expect(approved!.state.slots).toEqual([]);
  });

  it('takes no review slot without a review limit', () => {
    const [, published] = run(queuedForAgent({ agents: 1, review: null }), grant('r1/slot/agents-implement/0'), succeeded('r1/agent/implement/0', agentResult('x')));
    expect(types(published!.effects)).toEqual(['releaseSlot', 'publish']);
  });
});

describe('moving to another host', () => {
  it('prepares afresh on any host and runs the round again when the host is lost mid-agent', () => {
    const [running] = run(queuedForAgent(), grant('r1/slot/agents-implement/0'));
    const [movedRun] = run(running!.state, hostLost('r1/agent/implement/0'));
    expect(movedRun!.state).toMatchObject({ phase: 'preparing', moves: 1, workspace: null, slots: [], inFlight: { kind: 'prepare', effectId: 'r1/prepare/0/m1' } });
    expect(find(movedRun!.effects, 'prepareWorkspace')).toMatchObject({ effectId: 'r1/prepare/0/m1', fresh: true, branch: 'ouija/42-add-a-health-check-dacfb3f7' });
    expect(find(movedRun!.effects, 'prepareWorkspace')).not.toHaveProperty('host');
    expect(slotEffects(movedRun!.effects)).toEqual([{ type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' }]);
    const [again] = run(movedRun!.state, succeeded('r1/prepare/0/m1', { kind: 'prepare', workspace: onHost('h2') }));
    expect(again!.state.inFlight).toMatchObject({ kind: 'slot', effectId: 'r1/slot/agents-implement/0/m1' });
  });

  it('goes straight to publishing when the new host finds the push it was making had landed', () => {
    const [, , publishing] = run(
      queuedForAgent(),
      grant('r1/slot/agents-implement/0'),
      succeeded('r1/agent/implement/0', agentResult('did it')),
      grant('r1/slot/review/0', 'review'),
    );
    expect(publishing!.state.workspace?.headSha).toBe('head111');
    const [movedRun, prepared] = run(publishing!.state, hostLost('r1/publish/0'), succeeded('r1/prepare/0/m1', { kind: 'prepare', workspace: { ...onHost('h2'), remoteSha: 'head111' } }));
    expect(movedRun!.state.resumeAt).toBe('head111');
    expect(slotEffects(movedRun!.effects)).toEqual([]); // the review slot is kept
    expect(types(prepared!.effects)).toEqual(['publish']);
    expect(find(prepared!.effects, 'publish')).toMatchObject({ effectId: 'r1/publish/0/m1', workspace: { host: 'h2', remoteSha: 'head111' } });
    expect(prepared!.state.resumeAt).toBeUndefined();
  });

  it('runs the steps again when the push had not landed', () => {
    const [, , publishing] = run(queuedForAgent(), grant('r1/slot/agents-implement/0'), succeeded('r1/agent/implement/0', agentResult('x')), grant('r1/slot/review/0', 'review'));
    const [, prepared] = run(publishing!.state, hostLost('r1/publish/0'), succeeded('r1/prepare/0/m1', { kind: 'prepare', workspace: onHost('h2') }));
    expect(prepared!.state).toMatchObject({ phase: 'queued', inFlight: { kind: 'slot', pool: 'agents' } });
  });

  it(`fails the run after ${MAX_MOVES} moves`, () => {
    let state = queuedForAgent({ agents: 1, review: null });
    for (let move = 0; move < MAX_MOVES; move++) {
      const suffix = move === 0 ? '' : `/m${move}`;
      state = run(state, grant(`r1/slot/agents-implement/0${suffix}`), hostLost(`r1/agent/implement/0${suffix}`), succeeded(`r1/prepare/0/m${move + 1}`, { kind: 'prepare', workspace: onHost(`h${move + 2}`) })).pop()!.state;
    }
    const [lastRun, lost] = run(state, grant(`r1/slot/agents-implement/0/m${MAX_MOVES}`), hostLost(`r1/agent/implement/0/m${MAX_MOVES}`));
    expect(lastRun!.state.phase).toBe('working');
    expect(lost!.state.phase).toBe('failed');
    expect(lost!.state.lastError).toMatch(/lost 6 times/);
    expect(lost!.state.slots).toEqual([]);
  });

  it('forgets a stopped run\'s worktree on a lost host instead of cleaning it up there', () => {
    const [running] = run(queuedForAgent(), grant('r1/slot/agents-implement/0'));
    const [, gone] = run(running!.state, moved('other'), hostLost('r1/agent/implement/0'));
    expect(gone!.state).toMatchObject({ phase: 'cancelled', inFlight: null, workspace: null, slots: [] });
    expect(types(gone!.effects)).not.toContain('cleanupWorkspace');
  });

  it('stops the rest of a parallel group when one step\'s host is lost, then moves', () => {
    const limits = { agents: 5, review: null };
    const [, , , groupRunning] = run(
      initialState(makeCard(), ['plan', { parallel: ['implement', 'docs'] }], limits),
      moved('working'),
      succeeded('r1/prepare/0', { kind: 'prepare', workspace: onHost('h1') }),
      grant('r1/slot/agents-plan/0'),
      succeeded('r1/agent/plan/0', agentResult('planned')),
    );
    const [, prepared] = run(groupRunning!.state, grant('r1/slot/agents-implement/0'), succeeded('r1/prepareGroup/implement/0', {
      kind: 'prepareGroup',
      workspaces: { implement: onHost('h1', 'ouija/parallel-a-implement'), docs: onHost('h1', 'ouija/parallel-b-docs') },
    }));
    expect(prepared!.state.inFlight?.kind).toBe('group');
    const [firstLost, secondGone] = run(prepared!.state, hostLost('r1/agent/implement/0'), failed('r1/agent/docs/0', 'cancelled', true));
    expect(firstLost!.effects).toEqual([{ type: 'cancelEffect', effectId: 'r1/agent/docs/0' }]);
    expect(secondGone!.state).toMatchObject({ moves: 1, phase: 'preparing', stepIndex: 0 });
    expect(slotEffects(secondGone!.effects)).toEqual([{ type: 'releaseSlot', pool: 'agents', limiter: 'agents', token: 'r1/slot/agents-implement/0' }]);
  });
});

describe('states from before the tagged in-flight union', () => {
  it('reads an agent or group in flight written without the fields its kind has now', () => {
    const base = initialState(makeCard(), ['plan', 'implement']);
    const old = { ...base, stepIndex: 1, inFlight: { effectId: 'r1/agent/implement/0', kind: 'agent' } } as unknown as CardState;
    expect(readState(old).inFlight).toEqual({ effectId: 'r1/agent/implement/0', kind: 'agent', stepIndex: 1 });
    const oldGroup = { ...base, inFlight: { effectId: 'r1/prepareGroup/a/0', kind: 'prepareGroup' } } as unknown as CardState;
    expect(readState(oldGroup).inFlight).toEqual({ effectId: 'r1/prepareGroup/a/0', kind: 'prepareGroup', stepIndex: 0, members: [] });
    const current = { ...base, inFlight: { effectId: 'r1/publish/0', kind: 'publish' } } as CardState;
    expect(readState(current)).toBe(current);
  });
});
