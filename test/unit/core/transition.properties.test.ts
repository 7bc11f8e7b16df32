/**
 * Properties of transition() over arbitrary trigger sequences. Triggers are generated as recipes and made
 * concrete against the current state, so that results sometimes answer the effect in flight (and runs make
 * progress) and sometimes are stale, and board deliveries repeat because their IDs come from a small pool.
 * Checks inside the hot loops use node:assert, which is some 30 times cheaper per call than jest's expect.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { initialState, isActive, isQuiescent, isTerminal, reviseFrom, startsRun } from '../../../src/core/state';
import { transition } from '../../../src/core/transition';
import type {
  CardInfo,
  CardLimits,
  CardState,
  ColumnRole,
  EffectResult,
  ExternalTrigger,
  InFlight,
  PipelineEntry,
  ResultTrigger,
  SlotPool,
  TransitionResult,
  Trigger,
  WorkKind,
} from '../../../src/core/types';
import { deepFreeze, makeCard, workspaceFor } from './support';

const NUM_RUNS = 2000;

type ExternalRecipe = { kind: 'external'; deliveryId: string; trigger: DistributiveOmit<ExternalTrigger, 'deliveryId'> };
type ResultRecipe = {
  kind: 'result';
  answersInFlight: boolean;
  staleId: string;
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'hostLost';
  wrongKind: boolean;
  /** Which running step of a parallel group answers. */
  member: number;
};
/** A limiter's grant: mostly for the slot the card waits for, sometimes a stray or repeated one. */
type GrantRecipe = { kind: 'grant'; answersWait: boolean; staleToken: string; pool: SlotPool };
type Recipe = ExternalRecipe | ResultRecipe | GrantRecipe;
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
    { weight: 1, arbitrary: fc.constant('hostLost' as const) },
  ),
  wrongKind: fc.integer({ min: 0, max: 49 }).map((n) => n === 0),
  member: fc.nat(2),
});

const grantArb: fc.Arbitrary<GrantRecipe> = fc.record({
  kind: fc.constant('grant' as const),
  answersWait: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  staleToken: fc.constantFrom('r1/slot/agents-implement/0', 'r1/slot/review/0', 'r2/slot/agents-plan/0', 'nonsense'),
  pool: fc.constantFrom<SlotPool>('agents', 'review'),
});

/** No limits (workflows from before the patch), or a cluster-wide agent limit with or without a review limit. */
const limitsArb: fc.Arbitrary<CardLimits | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.record({ agents: fc.integer({ min: 1, max: 4 }), review: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 3 })) }) },
);

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
  limits: limitsArb,
  recipes: fc.array(fc.oneof({ weight: 2, arbitrary: externalArb }, { weight: 3, arbitrary: resultArb }, { weight: 1, arbitrary: grantArb }), { maxLength: 40, size: 'max' }),
});

const KINDS: WorkKind[] = ['prepare', 'agent', 'publish', 'cleanup', 'prepareGroup', 'mergeGroup'];

/** The effect IDs a state waits on: the one in flight, or each running step of a parallel group (a slot wait is no effect). */
function awaited(work: InFlight | null): string[] {
  if (work === null || work.kind === 'slot') return [];
  return work.kind === 'group' ? work.members.filter((m) => m.status === 'running').map((m) => m.effectId) : [work.effectId];
}

/** Where the workspaces of a result live: `host` (the prepare's host, or the card's workspace's host). */
function resultOf(kind: WorkKind, branch: string, work: InFlight | null, host: string, pushedAlready: boolean): EffectResult {
  switch (kind) {
    case 'prepareGroup':
      return {
        kind,
        workspaces: Object.fromEntries((work && 'members' in work ? work.members : []).map((m) => [m.step, { ...workspaceFor(`${branch}--${m.step}`), host }])),
      };
    case 'mergeGroup':
      return { kind, headSha: 'h1', merged: [] };
    case 'prepare':
      // Sometimes the remote branch is already at the agents' commit (a move after the push had landed).
      return { kind, workspace: { ...workspaceFor(branch), host, remoteSha: pushedAlready ? 'h1' : null } };
    case 'group':
    case 'agent':
      return { kind: 'agent', summary: 'did it', commits: 1, headSha: 'h1', filesChanged: [] };
    case 'publish':
      return { kind, review: { id: '1', url: 'https://example.test/pr/1', headSha: 'h1' }, remoteSha: 'h1' };
    case 'cleanup':
    case 'slot':
      return { kind: 'cleanup' };
  }
}

/** Turns a recipe into a concrete trigger for `state`. */
function materialize(recipe: Recipe, state: CardState, branch: string, nextHost: string): Trigger {
  if (recipe.kind === 'external') return { ...recipe.trigger, deliveryId: recipe.deliveryId } as ExternalTrigger;
  if (recipe.kind === 'grant') {
    const wait = state.inFlight?.kind === 'slot' ? state.inFlight : null;
    return recipe.answersWait && wait ? { type: 'slot.granted', pool: wait.pool, token: wait.effectId } : { type: 'slot.granted', pool: recipe.pool, token: recipe.staleToken };
  }
  const target = recipe.answersInFlight && state.inFlight ? state.inFlight : null;
  // A wait for a slot is answered by its limiter: the result recipes that answer what is in flight grant it.
  if (target?.kind === 'slot') return { type: 'slot.granted', pool: target.pool, token: target.effectId };
  const waiting = awaited(target);
  const effectId = waiting[recipe.member % Math.max(1, waiting.length)] ?? recipe.staleId;
  if (recipe.outcome === 'hostLost') return { type: 'effect.failed', effectId, error: 'activity ScheduleToStart timeout', retryable: false, cancelled: false, hostLost: true };
  if (recipe.outcome !== 'succeeded') return { type: 'effect.failed', effectId, error: 'boom', retryable: false, cancelled: recipe.outcome === 'cancelled' };
  const kind = target?.kind === 'group' ? 'agent' : (target?.kind ?? 'agent');
  const resultKind = recipe.wrongKind ? KINDS[(KINDS.indexOf(kind) + 1) % KINDS.length]! : kind;
  const host = resultKind === 'prepare' ? nextHost : (state.workspace?.host ?? nextHost);
  // After a move during publishing, often the push had landed (the case where publishing resumes at once).
  const pushedAlready = state.resumeAt !== undefined ? recipe.member !== 0 : recipe.member === 2;
  return { type: 'effect.succeeded', effectId, result: resultOf(resultKind, branch, target, host, pushedAlready) };
}

const isExternal = (t: Trigger): t is ExternalTrigger => 'deliveryId' in t;

/** What ends the wait in flight: its grant (a slot wait), or the failure of its (first) effect. */
function windDownTrigger(work: InFlight): Trigger {
  if (work.kind === 'slot') return { type: 'slot.granted', pool: work.pool, token: work.effectId };
  const [effectId] = awaited(work);
  return { type: 'effect.failed', effectId: effectId!, error: 'x', retryable: false };
}
const isResult = (t: Trigger): t is ResultTrigger => t.type === 'effect.succeeded' || t.type === 'effect.failed';

/** Runs a scenario, calling `check(before, trigger, after)` at every step. Returns the final state. */
function play(
  scenario: { pipeline: readonly PipelineEntry[]; limits?: CardLimits; recipes: Recipe[] },
  check: (before: CardState, trigger: Trigger, after: TransitionResult) => void,
): CardState {
  let state = initialState(makeCard(), scenario.pipeline, scenario.limits);
  let branch = 'ouija/none';
  let prepares = 0;
  for (const recipe of scenario.recipes) {
    // Every prepare lands on a host of its own, so that effects on an earlier host's workspace can be told apart.
    const trigger = materialize(recipe, state, branch, `host-${prepares}`);
    if (trigger.type === 'effect.succeeded' && trigger.result.kind === 'prepare') prepares++;
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
          if (isResult(trigger) && before.restartRequested && after.state.run > before.run) seen.add('restart');
          if (after.effects.some((e) => e.type === 'cancelEffect')) seen.add('cancelEffect');
          if (after.ignored?.startsWith('stale')) seen.add('stale');
          if (after.effects.filter((e) => e.type === 'runAgent').length > 1) seen.add('parallel agents');
          if (after.effects.some((e) => e.type === 'mergeGroup')) seen.add('group merged');
          if (before.inFlight?.kind === 'group' && after.state.phase === 'failed') seen.add('group failed');
          if (after.effects.some((e) => e.type === 'acquireSlot')) seen.add(`queued for ${after.state.inFlight?.kind === 'slot' ? after.state.inFlight.pool : '?'}`);
          if (trigger.type === 'slot.granted' && before.inFlight?.kind === 'slot' && !after.ignored) seen.add('slot granted');
          if (trigger.type === 'slot.granted' && after.effects.some((e) => e.type === 'releaseSlot')) seen.add('stray grant released');
          if ((after.state.moves ?? 0) > (before.moves ?? 0)) seen.add('moved host');
          if (before.resumeAt !== undefined && after.effects.some((e) => e.type === 'publish')) seen.add('resumed publishing after a move');
        });
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual(
      [
        'cancelEffect', 'cancelled', 'done', 'failed', 'group failed', 'group merged', 'idle', 'moved host', 'parallel agents', 'preparing',
        'publishing', 'queued', 'queued for agents', 'queued for review', 'restart', 'resumed publishing after a move', 'review', 'revising',
        'revision step', 'slot granted', 'stale', 'stray grant released', 'working',
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
          const restartBegins = isResult(trigger) && before.restartRequested;
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
          if (isResult(trigger)) outstanding.delete(trigger.effectId);
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
            // A run that moved to another host runs its round's steps again, in order.
            const key = `${after.state.run}/${effect.round}/m${after.state.moves ?? 0}`;
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
        for (let i = 0; i < 10 && state.inFlight; i++) state = transition(state, windDownTrigger(state.inFlight)).state;
        assert.equal(state.inFlight, null);
        assert.ok(isQuiescent(state) || state.phase === 'review', state.phase);
      }),
      { numRuns: NUM_RUNS },
    );
  });
  it('takes slots only under limits, runs agents only with an agent slot and publishes only with a review slot', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        play(scenario, (before, trigger, after) => {
          const slots = after.state.slots ?? [];
          if (!scenario.limits) {
            assert.equal(slots.length, 0);
            assert.ok(!after.effects.some((e) => e.type === 'acquireSlot'), 'a slot without limits');
            // A grant nobody asked for is handed back whatever the card's limits.
            if (trigger.type !== 'slot.granted') assert.ok(!after.effects.some((e) => e.type === 'releaseSlot'), 'a release without limits');
            return;
          }
          assert.ok(slots.filter((slot) => slot.pool === 'agents').length <= 1, 'two agent slots');
          assert.ok(slots.filter((slot) => slot.pool === 'review').length <= 1, 'two review slots');
          const starting = after.effects.filter((e) => e.type === 'runAgent');
          if (starting.length > 0) assert.ok(slots.some((slot) => slot.pool === 'agents'), 'an agent without a slot');
          if (after.effects.some((e) => e.type === 'publish') && scenario.limits.review !== null) {
            assert.ok(slots.some((slot) => slot.pool === 'review'), 'publishing without a review slot');
          }
          // The agent slot is held exactly while agents may run: given back only once no agent is in flight.
          const agentsRunning = after.state.inFlight?.kind === 'agent' || after.state.inFlight?.kind === 'group';
          if (agentsRunning) assert.ok(slots.some((slot) => slot.pool === 'agents'), `${after.state.inFlight?.kind} without its slot`);
          for (const effect of after.effects) {
            if (effect.type !== 'releaseSlot' || effect.pool !== 'agents') continue;
            if (trigger.type === 'slot.granted' && trigger.token === effect.token) continue; // a grant nobody waited for, handed back
            const stillRunning = after.state.inFlight?.kind === 'agent' || after.state.inFlight?.kind === 'group';
            assert.ok(!stillRunning || before.inFlight?.kind === 'slot', 'agent slot given back while agents run');
          }
          if (after.state.phase === 'queued') assert.equal(after.state.inFlight?.kind, 'slot');
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('gives back every slot it took and withdraws every ask, once each, by the time it rests', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const asked = new Set<string>();
        const released = new Set<string>();
        let state = play(scenario, (_before, trigger, after) => {
          for (const effect of after.effects) {
            if (effect.type === 'acquireSlot') {
              assert.ok(!asked.has(effect.token), `asked twice for ${effect.token}`);
              asked.add(effect.token);
            }
            if (effect.type === 'releaseSlot') {
              // A grant nobody waits for goes straight back (the recipes also make up grants for tokens never asked for).
              if (trigger.type === 'slot.granted' && trigger.token === effect.token) continue;
              assert.ok(asked.has(effect.token) && !released.has(effect.token), `release of ${effect.token}`);
              released.add(effect.token);
            }
          }
        });
        // Wind down: grant the slot waited for, fail whatever else is in flight; a card at rest holds nothing.
        for (let i = 0; i < 10 && state.inFlight; i++) {
          const step = transition(state, windDownTrigger(state.inFlight));
          for (const effect of step.effects) if (effect.type === 'releaseSlot') released.add(effect.token);
          state = step.state;
        }
        if (isQuiescent(state)) {
          assert.deepEqual(state.slots ?? [], []);
          for (const token of asked) assert.ok(released.has(token) || (state.slots ?? []).some((slot) => slot.token === token), `${token} never released`);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps a run on one host: after a prepare, every effect works on that host\'s workspaces until the run moves', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        let host: string | undefined;
        play(scenario, (before, trigger, after) => {
          if (trigger.type === 'effect.succeeded' && trigger.result.kind === 'prepare' && before.inFlight?.effectId === trigger.effectId) {
            host = trigger.result.workspace.host;
          }
          for (const effect of after.effects) {
            if (effect.type === 'prepareWorkspace') {
              // A revision prepares where the worktree is; a new run or a move prepares afresh, anywhere.
              if (effect.host !== undefined) assert.equal(effect.host, host);
              else if (scenario.limits) assert.equal(effect.fresh, true);
              continue;
            }
            if (!('workspace' in effect)) continue;
            if (effect.type === 'cleanupWorkspace' && effect.workspace.host !== host) continue; // a stopped earlier run's leftover
            assert.equal(effect.workspace.host, host, `${effect.type} on ${effect.workspace.host}, the run is on ${host}`);
          }
          if ((after.state.moves ?? 0) > (before.moves ?? 0)) {
            assert.equal(after.state.workspace, null);
            assert.ok(after.effects.some((e) => e.type === 'prepareWorkspace' && e.fresh === true && e.host === undefined), 'a move prepares afresh');
            host = undefined;
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
