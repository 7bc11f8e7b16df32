/**
 * Properties of transition() over arbitrary trigger sequences. Triggers are generated as recipes and made
 * concrete against the current state, so that results sometimes answer the effect in flight (and runs make
 * progress) and sometimes are stale, and board deliveries repeat because their IDs come from a small pool.
 * Checks inside the hot loops use node:assert, which is some 30 times cheaper per call than jest's expect.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { initialState, isActive, isQuiescent, isTerminal, reviseFrom } from '../../../src/core/state';
import { transition } from '../../../src/core/transition';
import type { CardInfo, CardState, ColumnRole, EffectResult, ExternalTrigger, InFlight, PipelineEntry, TransitionResult, Trigger, WorkKind } from '../../../src/core/types';
import { deepFreeze, makeCard, workspaceFor } from './support';

const NUM_RUNS = 2000;

type ExternalRecipe = { kind: 'external'; deliveryId: string; trigger: DistributiveOmit<ExternalTrigger, 'deliveryId'> };
type ResultRecipe = {
  kind: 'result';
  answersInFlight: boolean;
  staleId: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  wrongKind: boolean;
  /** Which running step of a parallel group answers. */
  member: number;
};
type Recipe = ExternalRecipe | ResultRecipe;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const cardArb: fc.Arbitrary<CardInfo> = fc.oneof(
  { weight: 9, arbitrary: fc.string({ maxLength: 30 }).map((title) => makeCard({ title })) },
  // A ref no branch can be derived from: starting must fail, not throw.
  { weight: 1, arbitrary: fc.constant(makeCard({ ref: { provider: 'github', boardId: 'b', cardId: 'x/y' }, key: 'github:b:x/y' })) },
);
const columnArb: fc.Arbitrary<ColumnRole> = fc.constantFrom('working', 'working', 'working', 'working', 'review', 'done', 'other');
const commentsArb = fc.array(fc.record({ author: fc.constantFrom('alice', 'bob'), body: fc.string({ maxLength: 20 }) }), { maxLength: 2 });

const externalArb: fc.Arbitrary<ExternalRecipe> = fc.record({
  kind: fc.constant('external' as const),
  deliveryId: fc.integer({ min: 0, max: 19 }).map((n) => `d${n}`),
  // Weighted so that runs often get as far as review and revisions; the rest stops them.
  trigger: fc.oneof(
    { weight: 6, arbitrary: fc.record({ type: fc.constant('card.moved' as const), column: columnArb }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('card.moved' as const), column: columnArb, card: cardArb }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('card.edited' as const), card: cardArb }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('card.deleted' as const) }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('review.approved' as const) }) },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('review.changesRequested' as const), comments: commentsArb }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('pr.merged' as const) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('pr.closed' as const) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('operator.retry' as const) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('operator.cancel' as const) }) },
  ),
});

const resultArb: fc.Arbitrary<ResultRecipe> = fc.record({
  kind: fc.constant('result' as const),
  // Mostly the effect in flight, so that runs progress; otherwise stale.
  answersInFlight: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  staleId: fc.constantFrom('r1/prepare/0', 'r1/agent/implement/0', 'r1/agent/plan/0', 'r1/publish/0', 'r1/cleanup/0', 'r2/prepare/0', 'nonsense'),
  outcome: fc.oneof(
    { weight: 10, arbitrary: fc.constant('succeeded' as const) },
    { weight: 1, arbitrary: fc.constant('failed' as const) },
    { weight: 1, arbitrary: fc.constant('cancelled' as const) },
  ),
  wrongKind: fc.integer({ min: 0, max: 49 }).map((n) => n === 0),
  member: fc.nat(2),
});

const pipelineArb: fc.Arbitrary<PipelineEntry[]> = fc.oneof(
  fc.constantFrom<PipelineEntry[]>(['implement'], ['plan', 'implement', 'test'], ['lint', 'test'], ['a', 'b', 'c', 'd']),
  fc
    .constantFrom('fail-fast' as const, 'wait-all' as const, 'best-effort' as const)
    .chain((onFailure) =>
      fc.constantFrom<PipelineEntry[]>(
        ['plan', { parallel: ['implement', 'docs', 'tests'], onFailure }, 'review'],
        [{ parallel: ['a', 'b'], onFailure }],
        ['plan', { parallel: ['a', 'b'], onFailure }, { parallel: ['c', 'implement'], onFailure }],
      ),
    ),
);
const scenarioArb = fc.record({
  pipeline: pipelineArb,
  recipes: fc.array(fc.oneof({ weight: 2, arbitrary: externalArb }, { weight: 3, arbitrary: resultArb }), { maxLength: 40, size: 'max' }),
});

const KINDS: WorkKind[] = ['prepare', 'agent', 'publish', 'cleanup', 'prepareGroup', 'mergeGroup'];

/** The effect IDs a state waits on: the one in flight, or each running step of a parallel group. */
function awaited(work: InFlight | null): string[] {
  if (work === null) return [];
  return work.kind === 'group' ? (work.members ?? []).filter((m) => m.status === 'running').map((m) => m.effectId) : [work.effectId];
}

function resultOf(kind: WorkKind, branch: string, work: InFlight | null): EffectResult {
  switch (kind) {
    case 'prepareGroup':
      return { kind, workspaces: Object.fromEntries((work?.members ?? []).map((m) => [m.step, workspaceFor(`${branch}--${m.step}`)])) };
    case 'mergeGroup':
      return { kind, headSha: 'h2', merged: [] };
    case 'prepare':
      return { kind, workspace: workspaceFor(branch) };
    case 'group':
    case 'agent':
      return { kind: 'agent', summary: 'did it', commits: 1, headSha: 'h1', filesChanged: [] };
    case 'publish':
      return { kind, review: { id: '1', url: 'https://example.test/pr/1', headSha: 'h1' }, remoteSha: 'h1' };
    case 'cleanup':
      return { kind };
  }
}

/** Turns a recipe into a concrete trigger for `state`. */
function materialize(recipe: Recipe, state: CardState, branch: string): Trigger {
  if (recipe.kind === 'external') return { ...recipe.trigger, deliveryId: recipe.deliveryId } as ExternalTrigger;
  const target = recipe.answersInFlight && state.inFlight ? state.inFlight : null;
  const waiting = awaited(target);
  const effectId = waiting[recipe.member % Math.max(1, waiting.length)] ?? recipe.staleId;
  if (recipe.outcome !== 'succeeded') return { type: 'effect.failed', effectId, error: 'boom', retryable: false, cancelled: recipe.outcome === 'cancelled' };
  const kind = target?.kind === 'group' ? 'agent' : (target?.kind ?? 'agent');
  const resultKind = recipe.wrongKind ? KINDS[(KINDS.indexOf(kind) + 1) % KINDS.length]! : kind;
  return { type: 'effect.succeeded', effectId, result: resultOf(resultKind, branch, target) };
}

const isExternal = (t: Trigger): t is ExternalTrigger => 'deliveryId' in t;
const startsRun = (t: Trigger) => (t.type === 'card.moved' && t.column === 'working') || t.type === 'operator.retry';

/** Runs a scenario, calling `check(before, trigger, after)` at every step. Returns the final state. */
function play(scenario: { pipeline: readonly PipelineEntry[]; recipes: Recipe[] }, check: (before: CardState, trigger: Trigger, after: TransitionResult) => void): CardState {
  let state = initialState(makeCard(), scenario.pipeline);
  let branch = 'ouija/none';
  for (const recipe of scenario.recipes) {
    const trigger = materialize(recipe, state, branch);
    const after = transition(deepFreeze(state), trigger);
    check(state, trigger, after);
    for (const effect of after.effects) if (effect.type === 'prepareWorkspace') branch = effect.branch;
    state = after.state;
  }
  return state;
}

describe('transition properties', () => {
  it('explores the whole lifecycle (or the properties below would be vacuous)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        play(scenario, (before, trigger, after) => {
          seen.add(after.state.phase);
          if (after.state.round > 0 && after.effects.some((e) => e.type === 'runAgent')) seen.add('revision step');
          if (!isExternal(trigger) && before.restartRequested && after.state.run > before.run) seen.add('restart');
          if (after.effects.some((e) => e.type === 'cancelEffect')) seen.add('cancelEffect');
          if (after.ignored?.startsWith('stale')) seen.add('stale');
          if (after.effects.filter((e) => e.type === 'runAgent').length > 1) seen.add('parallel agents');
          if (after.effects.some((e) => e.type === 'mergeGroup')) seen.add('group merged');
          if (before.inFlight?.kind === 'group' && after.state.phase === 'failed') seen.add('group failed');
        });
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(
      [
        'cancelEffect', 'cancelled', 'done', 'failed', 'group failed', 'group merged', 'idle', 'parallel agents', 'preparing',
        'publishing', 'restart', 'review', 'revising', 'revision step', 'stale', 'working',
      ].sort(),
    );
  });

  it('is total and never mutates its (deep-frozen) input', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        play(scenario, (before, _trigger, after) => {
          assert.ok(after.state);
          assert.ok(Object.isFrozen(before)); // writing to it would have thrown (strict mode)
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps terminal phases terminal except to start a run', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        play(scenario, (before, trigger, after) => {
          if (!isTerminal(before.phase) || isTerminal(after.state.phase)) return;
          const restartBegins = !isExternal(trigger) && before.restartRequested;
          assert.ok(startsRun(trigger) || restartBegins, `${before.phase} → ${after.state.phase} on ${trigger.type}`);
          assert.equal(after.state.run, before.run + 1);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('has one lifecycle effect outstanding (several agents only as one parallel group), and it is the one in flight', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const outstanding = new Map<string, string>(); // effect ID -> effect type
        const emitted = new Set<string>();
        play(scenario, (before, trigger, after) => {
          if (!isExternal(trigger)) outstanding.delete(trigger.effectId);
          for (const effect of after.effects) {
            if (effect.type === 'cancelEffect') assert.ok(outstanding.has(effect.effectId), `cancel of ${effect.effectId}`);
            if (!('effectId' in effect) || effect.type === 'cancelEffect') continue;
            const groupStart = effect.type === 'runAgent' && after.state.inFlight?.kind === 'group' && before.inFlight?.kind === 'prepareGroup';
            if (effect.type === 'runAgent' && !groupStart) assert.ok(![...outstanding.values()].includes('runAgent'), 'two agents');
            if (!groupStart) assert.equal(outstanding.size, 0, `${effect.effectId} while ${[...outstanding.keys()].join()} outstanding`);
            assert.ok(!emitted.has(effect.effectId), `effect ID ${effect.effectId} reused`); // unique within the workflow
            emitted.add(effect.effectId);
            outstanding.set(effect.effectId, effect.type);
          }
          assert.deepEqual([...outstanding.keys()].sort(), awaited(after.state.inFlight).sort());
          // Nothing is ever stuck: a run under way always waits on an effect, review waits only on people.
          if (isActive(after.state.phase)) assert.notEqual(after.state.inFlight, null, `${after.state.phase} with nothing in flight`);
          if (after.state.phase === 'review') assert.equal(after.state.inFlight, null, 'review with an effect in flight');
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('runs the steps of each run and round in pipeline order', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const lastStep = new Map<string, number>();
        play(scenario, (_before, _trigger, after) => {
          for (const effect of after.effects) {
            if (effect.type !== 'runAgent') continue;
            const key = `${after.state.run}/${effect.round}`;
            const previous = lastStep.get(key);
            const first = effect.round === 0 ? 0 : reviseFrom(after.state);
            assert.equal(effect.stepIndex, previous === undefined ? first : previous + 1, key);
            assert.equal(effect.step, after.state.pipeline[effect.stepIndex]);
            assert.equal(effect.round, after.state.round);
            lastStep.set(key, effect.stepIndex);
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('changes nothing when a delivery is repeated, and records only the ID of an ignored one', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        play(scenario, (before, trigger, after) => {
          if (after.ignored?.startsWith('duplicate delivery')) assert.deepEqual(after.state, before);
          else if (after.ignored !== undefined) {
            assert.deepEqual(after.effects, []);
            const card = trigger.type === 'card.moved' && trigger.card ? trigger.card : before.card;
            assert.deepEqual(after.state, { ...before, card, deliveries: after.state.deliveries }, after.ignored);
          }
          if (!isExternal(trigger)) return;
          assert.ok(after.state.deliveries.includes(trigger.deliveryId));
          const again = transition(deepFreeze(after.state), trigger);
          assert.deepEqual(again.state, after.state);
          assert.deepEqual(again.effects, []);
          assert.equal(again.ignored, `duplicate delivery ${trigger.deliveryId}`);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('can always wind down: failing whatever is in flight leads to rest or review within a few results', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        let state = play(scenario, () => undefined);
        for (let i = 0; i < 10 && state.inFlight; i++) {
          const [effectId] = awaited(state.inFlight);
          state = transition(state, { type: 'effect.failed', effectId: effectId!, error: 'x', retryable: false }).state;
        }
        assert.equal(state.inFlight, null);
        assert.ok(isQuiescent(state) || state.phase === 'review', state.phase);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
