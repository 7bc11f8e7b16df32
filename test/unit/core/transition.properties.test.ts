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
import type { CardInfo, CardState, ColumnRole, EffectResult, ExternalTrigger, TransitionResult, Trigger, WorkKind } from '../../../src/core/types';
import { deepFreeze, makeCard, workspaceFor } from './support';

const NUM_RUNS = 2000;

type ExternalRecipe = { kind: 'external'; deliveryId: string; trigger: DistributiveOmit<ExternalTrigger, 'deliveryId'> };
type ResultRecipe = { kind: 'result'; answersInFlight: boolean; staleId: string; outcome: 'succeeded' | 'failed' | 'cancelled'; wrongKind: boolean };
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
});

const pipelineArb = fc.constantFrom(['implement'], ['plan', 'implement', 'test'], ['lint', 'test'], ['a', 'b', 'c', 'd']);
const scenarioArb = fc.record({
  pipeline: pipelineArb,
  recipes: fc.array(fc.oneof({ weight: 2, arbitrary: externalArb }, { weight: 3, arbitrary: resultArb }), { maxLength: 40, size: 'max' }),
});

const KINDS: WorkKind[] = ['prepare', 'agent', 'publish', 'cleanup'];

function resultOf(kind: WorkKind, branch: string): EffectResult {
  switch (kind) {
    case 'prepare':
      return { kind, workspace: workspaceFor(branch) };
    case 'agent':
      return { kind, summary: 'did it', commits: 1, headSha: 'h1', filesChanged: [] };
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
  const effectId = target?.effectId ?? recipe.staleId;
  if (recipe.outcome !== 'succeeded') return { type: 'effect.failed', effectId, error: 'boom', retryable: false, cancelled: recipe.outcome === 'cancelled' };
  const kind = target?.kind ?? 'agent';
  const resultKind = recipe.wrongKind ? KINDS[(KINDS.indexOf(kind) + 1) % KINDS.length]! : kind;
  return { type: 'effect.succeeded', effectId, result: resultOf(resultKind, branch) };
}

const isExternal = (t: Trigger): t is ExternalTrigger => 'deliveryId' in t;
const startsRun = (t: Trigger) => (t.type === 'card.moved' && t.column === 'working') || t.type === 'operator.retry';

/** Runs a scenario, calling `check(before, trigger, after)` at every step. Returns the final state. */
function play(scenario: { pipeline: readonly string[]; recipes: Recipe[] }, check: (before: CardState, trigger: Trigger, after: TransitionResult) => void): CardState {
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
        });
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(
      ['cancelEffect', 'cancelled', 'done', 'failed', 'idle', 'preparing', 'publishing', 'restart', 'review', 'revising', 'revision step', 'stale', 'working'].sort(),
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

  it('has at most one lifecycle effect (so at most one agent) outstanding, and it is the one in flight', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const outstanding = new Map<string, string>(); // effect ID -> effect type
        const emitted = new Set<string>();
        play(scenario, (_before, trigger, after) => {
          if (!isExternal(trigger)) outstanding.delete(trigger.effectId);
          for (const effect of after.effects) {
            if (effect.type === 'cancelEffect') assert.ok(outstanding.has(effect.effectId), `cancel of ${effect.effectId}`);
            if (!('effectId' in effect) || effect.type === 'cancelEffect') continue;
            if (effect.type === 'runAgent') assert.ok(![...outstanding.values()].includes('runAgent'), 'two agents');
            assert.equal(outstanding.size, 0, `${effect.effectId} while ${[...outstanding.keys()].join()} outstanding`);
            assert.ok(!emitted.has(effect.effectId), `effect ID ${effect.effectId} reused`); // unique within the workflow
            emitted.add(effect.effectId);
            outstanding.set(effect.effectId, effect.type);
          }
          assert.deepEqual([...outstanding.keys()], after.state.inFlight ? [after.state.inFlight.effectId] : []);
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
            const first = effect.round === 0 ? 0 : reviseFrom(scenario.pipeline);
            assert.equal(effect.stepIndex, previous === undefined ? first : previous + 1, key);
            assert.equal(effect.step, scenario.pipeline[effect.stepIndex]);
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
        for (let i = 0; i < 6 && state.inFlight; i++) {
          state = transition(state, { type: 'effect.failed', effectId: state.inFlight.effectId, error: 'x', retryable: false }).state;
        }
        assert.equal(state.inFlight, null);
        assert.ok(isQuiescent(state) || state.phase === 'review', state.phase);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
