/** The workflow-side overhead observer: active time minus agent time, recorded once per active span. */
import type { CardState, Phase } from '../../../src/core/types';
import { initialState } from '../../../src/core/state';
import { coordinationOverhead } from '../../../workflows/coordination-overhead';

const base: CardState = initialState(
  { ref: { provider: 'builtin', boardId: 'b', cardId: 'c' }, key: 'builtin:b:c', title: 't', body: '', repo: '/r.git' },
  ['implement'],
);
const at = (phase: Phase, agent = false): CardState => ({ ...base, phase, inFlight: agent ? { effectId: 'r1/agent/implement/0', kind: 'agent', stepIndex: 0 } : null });

function observer() {
  let clock = 0;
  const recorded: Array<{ seconds: number; tags: unknown }> = [];
  const observe = coordinationOverhead({ record: (seconds, tags) => void recorded.push({ seconds, tags }) }, () => clock);
  return { recorded, step: (ms: number, state: CardState) => { clock += ms; observe(state); } };
}

test('records active time minus agent time when the span reaches review', () => {
  const { recorded, step } = observer();
  step(0, at('idle'));
  step(1_000, at('preparing')); // span starts
  step(2_000, at('working', true)); // 2 s preparing, agent starts
  step(30_000, at('publishing')); // 30 s of agent
  step(3_000, at('review')); // 3 s publishing
  expect(recorded).toEqual([{ seconds: 5, tags: { ended: 'review' } }]);
});

test('each revision is its own span; nothing is recorded while waiting in review', () => {
  const { recorded, step } = observer();
  step(0, at('preparing'));
  step(1_000, at('working', true));
  step(10_000, at('publishing'));
  step(1_000, at('review'));
  step(600_000, at('review'));
  step(0, at('revising'));
  step(500, at('revising', true));
  step(4_000, at('publishing'));
  step(1_500, at('failed'));
  expect(recorded).toEqual([
    { seconds: 2, tags: { ended: 'review' } },
    { seconds: 2, tags: { ended: 'failed' } },
  ]);
});

test('an agent still stopping after the card left its active phases does not count', () => {
  const { recorded, step } = observer();
  step(0, at('preparing'));
  step(1_000, at('working', true));
  step(5_000, at('cancelled', true));
  step(60_000, at('cancelled'));
  expect(recorded).toEqual([{ seconds: 1, tags: { ended: 'cancelled' } }]);
});
