/** Fixtures and small drivers shared by the core's tests. */
import { cardKey } from '../../../src/core/cards';
import { initialState } from '../../../src/core/state';
import { transition } from '../../../src/core/transition';
import type { CardInfo, CardRef, CardState, Effect, EffectResult, TransitionResult, Trigger, Workspace } from '../../../src/core/types';

export const ref: CardRef = { provider: 'github', boardId: 'acme-repo', cardId: '42' };

export function makeCard(overrides: Partial<CardInfo> = {}): CardInfo {
  const cardRef = overrides.ref ?? ref;
  return { ref: cardRef, key: overrides.key ?? cardKey(cardRef), title: 'Add a health check', body: 'GET /healthz', repo: '/srv/repo.git', ...overrides };
}

export function workspaceFor(branch: string): Workspace {
  return { path: `/tmp/ws/${branch}`, branch, baseSha: 'base000', remoteSha: null };
}

let deliveryCounter = 0;
/** A fresh delivery ID per call, so example tests never collide with dedup by accident. */
export const nextDelivery = (): string => `d${++deliveryCounter}`;

export const moved = (column: 'working' | 'review' | 'done' | 'other', card?: CardInfo): Trigger => ({
  type: 'card.moved',
  column,
  deliveryId: nextDelivery(),
  ...(card ? { card } : {}),
});

export const succeeded = (effectId: string, result: EffectResult): Trigger => ({ type: 'effect.succeeded', effectId, result });
export const failed = (effectId: string, error = 'boom', cancelled = false): Trigger => ({
  type: 'effect.failed',
  effectId,
  error,
  retryable: false,
  cancelled,
});

export const agentResult = (summary: string): EffectResult => ({ kind: 'agent', summary, commits: 1, headSha: 'head111', filesChanged: ['a.ts'] });
export const publishResult = (n = 7): EffectResult => ({
  kind: 'publish',
  review: { id: String(n), url: `https://example.test/pr/${n}`, headSha: 'head111' },
  remoteSha: 'head111',
});

/** Applies triggers in order and returns every intermediate result. */
export function run(state: CardState, ...triggers: Trigger[]): TransitionResult[] {
  const results: TransitionResult[] = [];
  let current = state;
  for (const trigger of triggers) {
    const result = transition(current, trigger);
    results.push(result);
    current = result.state;
  }
  return results;
}

export function last<T>(items: T[]): T {
  const item = items[items.length - 1];
  if (item === undefined) throw new Error('empty list');
  return item;
}

export const types = (effects: Effect[]): string[] => effects.map((e) => e.type);

export function find<T extends Effect['type']>(effects: Effect[], type: T): Extract<Effect, { type: T }> {
  const effect = effects.find((e) => e.type === type);
  if (!effect) throw new Error(`no ${type} effect among ${types(effects).join(', ')}`);
  return effect as Extract<Effect, { type: T }>;
}

/** A card from initialState, started (moved to working) and with its workspace prepared. */
export function started(pipeline?: string[]): { state: CardState; branch: string } {
  const [start] = run(initialState(makeCard(), pipeline), moved('working'));
  const branch = find(start!.effects, 'prepareWorkspace').branch;
  const [prepared] = run(start!.state, succeeded('r1/prepare/0', { kind: 'prepare', workspace: workspaceFor(branch) }));
  return { state: prepared!.state, branch };
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
