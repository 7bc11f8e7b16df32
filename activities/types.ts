/**
 * What each activity takes and returns. An activity's input is the effect itself, so the workflow needs no
 * mapping code; lifecycle activities return the EffectResult the core expects back, and take the workflow's
 * AttemptPolicy as a second argument (absent in histories from before it existed).
 * Types only: workflow code imports this file with `import type`.
 */
import type { Effect, EffectResult } from '../src/core/types';
import type { SlotRequest } from '../workflows/messages';
import type { AttemptPolicy } from './failure-budget';

export type EffectOf<T extends Effect['type']> = Extract<Effect, { type: T }>;
export type ResultOf<K extends EffectResult['kind']> = Extract<EffectResult, { kind: K }>;

/** On the git queue: slow remotes never hold up boards or notifications. */
export interface WorkspaceActivities {
  prepareWorkspace(effect: EffectOf<'prepareWorkspace'>, policy?: AttemptPolicy): Promise<ResultOf<'prepare'>>;
  publish(effect: EffectOf<'publish'>, policy?: AttemptPolicy): Promise<ResultOf<'publish'>>;
  cleanupWorkspace(effect: EffectOf<'cleanupWorkspace'>, policy?: AttemptPolicy): Promise<ResultOf<'cleanup'>>;
  prepareGroup(effect: EffectOf<'prepareGroup'>, policy?: AttemptPolicy): Promise<ResultOf<'prepareGroup'>>;
  mergeGroup(effect: EffectOf<'mergeGroup'>, policy?: AttemptPolicy): Promise<ResultOf<'mergeGroup'>>;
}

/** On the agents queue, whose worker caps concurrent agents. */
export interface AgentActivities {
  runAgent(effect: EffectOf<'runAgent'>, policy?: AttemptPolicy): Promise<ResultOf<'agent'>>;
}

/** On the board queue: a failing board API never stops agents. */
export interface BoardActivities {
  moveCard(effect: EffectOf<'moveCard'>): Promise<void>;
  comment(effect: EffectOf<'comment'>): Promise<void>;
}

export interface NotifyActivities {
  notify(effect: EffectOf<'notify'>): Promise<void>;
}

/** One message to a pool's limiter workflow (started by it if it is not running). */
export type LimiterSignal = { limiter: string; acquire: SlotRequest } | { limiter: string; release: { workflowId: string; token: string } };

/** On the workflows queue: `signalLimiter` as a local activity of card workflows, `staleSlotHolders` for limiters. */
export interface LimiterActivities {
  signalLimiter(signal: LimiterSignal): Promise<void>;
  /** The workflow IDs of `holders` whose card workflow is no longer running (or is a later execution of the card). */
  staleSlotHolders(holders: Array<Pick<SlotRequest, 'workflowId' | 'firstRunId' | 'token'>>): Promise<string[]>;
}
