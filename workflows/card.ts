/**
 * One workflow per card (workflow ID = `card:<card key>`). It owns no decisions: every trigger goes through
 * the pure `transition()` of src/core, and this code only executes the effects it returns and feeds their
 * results back in as triggers. Deterministic: no I/O here, only Temporal's workflow APIs.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  scheduleActivity,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { transition } from '../src/core/transition';
import { initialState, isQuiescent } from '../src/core/state';
import type { CardState, Effect, EffectResult, ResultTrigger, Trigger } from '../src/core/types';
import { OUIJA_BOARD, OUIJA_CARD, OUIJA_PHASE, OUIJA_REPO } from '../src/temporal/search-attributes';
import type { AttemptPolicy } from '../activities/failure-budget';
import type { EffectOf } from '../activities/types';
import { coordinationOverhead } from './coordination-overhead';
import { activityFailureMessage, effectFailed } from './effect-failed';
import { DEFAULT_CARD_SETTINGS, NON_RETRYABLE_ERRORS, TASK_QUEUES, stateQuery, triggerSignal, type CardSettings, type CardWorkflowInput } from './messages';

type LifecycleEffect = EffectOf<'prepareWorkspace' | 'runAgent' | 'publish' | 'cleanupWorkspace' | 'prepareGroup' | 'mergeGroup'>;
type BackgroundEffect = EffectOf<'moveCard' | 'comment' | 'notify'>;

export async function cardWorkflow(input: CardWorkflowInput): Promise<CardState> {
  const settings: CardSettings = { ...DEFAULT_CARD_SETTINGS, ...input.settings };
  let state: CardState = input.carried?.state ?? initialState(input.card, input.pipeline);
  const inbox: Trigger[] = [...(input.carried?.inbox ?? [])];
  /** Cancellation scopes of in-flight lifecycle effects, by effect ID. */
  const running = new Map<string, CancellationScope>();
  /** Fire-and-forget effects run in order per queue; the workflow waits for them before it ends. */
  const chains = new Map<string, Promise<void>>();
  let backgroundPending = 0;
  const observeOverhead = coordinationOverhead();

  setHandler(triggerSignal, (trigger) => {
    inbox.push(trigger);
  });
  setHandler(stateQuery, () => state);

  const startLifecycle = (effect: LifecycleEffect): void => {
    const scope = new CancellationScope();
    running.set(effect.effectId, scope);
    scope
      .run(() => scheduleActivity<EffectResult>(effect.type, [effect, attemptPolicy(effect, settings)], lifecycleOptions(effect, state, settings)))
      .then(
        (result): ResultTrigger => ({ type: 'effect.succeeded', effectId: effect.effectId, result }),
        (err: unknown): ResultTrigger => effectFailed(effect.effectId, describe(err), isCancellation(err)),
      )
      .then((trigger) => {
        running.delete(effect.effectId);
        inbox.push(trigger);
      });
  };

  const startBackground = (effect: BackgroundEffect): void => {
    const queue = effect.type === 'notify' ? TASK_QUEUES.notify : TASK_QUEUES.board;
    backgroundPending++;
    const previous = chains.get(queue) ?? Promise.resolve();
    const next = previous
      .then(() => scheduleActivity<void>(effect.type, [effect], backgroundOptions(effect, queue, settings)))
      .catch((err: unknown) => log.warn('background effect failed', { effect: effect.type, error: describe(err) }))
      .finally(() => {
        backgroundPending--;
      });
    chains.set(queue, next);
  };

  const execute = (effect: Effect): void => {
    switch (effect.type) {
      case 'prepareWorkspace':
      case 'runAgent':
      case 'publish':
      case 'cleanupWorkspace':
      case 'prepareGroup':
      case 'mergeGroup':
        return startLifecycle(effect);
      case 'cancelEffect':
        return running.get(effect.effectId)?.cancel();
      case 'moveCard':
      case 'comment':
      case 'notify':
        return startBackground(effect);
    }
  };

  const shouldContinueAsNew = (): boolean =>
    state.inFlight === null &&
    running.size === 0 &&
    backgroundPending === 0 &&
    (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= settings.continueAsNewAfterEvents);

  let published = '';
  const publishState = (): void => {
    const key = `${state.phase}|${state.card.key}|${state.card.repo}`;
    if (key === published) return;
    published = key;
    upsertSearchAttributes([
      { key: OUIJA_CARD, value: state.card.key },
      { key: OUIJA_BOARD, value: state.card.ref.boardId },
      { key: OUIJA_REPO, value: state.card.repo },
      { key: OUIJA_PHASE, value: state.phase },
    ]);
    setCurrentDetails(currentDetails(state));
  };

  publishState();
  observeOverhead(state);
  for (;;) {
    await condition(
      () => inbox.length > 0 || (isQuiescent(state) && backgroundPending === 0) || shouldContinueAsNew(),
    );
    const trigger = inbox.shift();
    if (!trigger) {
      if (isQuiescent(state) && backgroundPending === 0) break;
      // Carries the state, including remembered delivery IDs (invariant 2), into a fresh history.
      await condition(() => running.size === 0);
      return await continueAsNew<typeof cardWorkflow>({ ...input, carried: { state, inbox: [...inbox] } });
    }
    const { state: next, effects, ignored } = transition(state, trigger);
    if (ignored) {
      const deliveryId = 'deliveryId' in trigger ? trigger.deliveryId : undefined;
      log.info('trigger ignored', { card: state.card.key, trigger: trigger.type, deliveryId, reason: ignored });
    }
    state = next;
    effects.forEach(execute);
    publishState();
    observeOverhead(state);
  }
  return state;
}

/** How many failures of its own end a lifecycle step; the activity counts them (crashes are not failures). */
function attemptPolicy(effect: LifecycleEffect, settings: CardSettings): AttemptPolicy {
  return { maxFailures: effect.type === 'runAgent' ? settings.agentMaxAttempts : settings.gitMaxAttempts };
}

function lifecycleOptions(effect: LifecycleEffect, state: CardState, settings: CardSettings): ActivityOptions {
  const card = state.card.key;
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] };
  if (effect.type === 'runAgent') {
    return {
      activityId: effect.effectId,
      taskQueue: TASK_QUEUES.agents,
      startToCloseTimeout: settings.agentTimeoutMs,
      heartbeatTimeout: settings.agentHeartbeatTimeoutMs,
      // The workflow learns of the cancellation only once the agent's process group is gone.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: { ...retry, initialInterval: '2s', maximumAttempts: attemptPolicy(effect, settings).maxFailures + settings.crashRetries },
      summary: `agent · step ${effect.step} (${effect.stepIndex + 1}/${state.pipeline.length}) · run ${state.run} round ${effect.round} · card ${card}`,
    };
  }
  return {
    activityId: effect.effectId,
    taskQueue: TASK_QUEUES.git,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: settings.activityHeartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, maximumAttempts: attemptPolicy(effect, settings).maxFailures + settings.crashRetries },
    summary: `${effect.type} · run ${state.run} · card ${card}`,
  };
}

function backgroundOptions(effect: BackgroundEffect, taskQueue: string, settings: CardSettings): ActivityOptions {
  return {
    taskQueue,
    startToCloseTimeout: '1 minute',
    // Board and notify activities heartbeat while they wait: a dead worker's move is retried in seconds.
    heartbeatTimeout: settings.activityHeartbeatTimeoutMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
    summary: `${effect.type} · card ${effect.card.key}`,
  };
}

function describe(err: unknown): string {
  if (err instanceof ActivityFailure) return activityFailureMessage(err.message, err.cause?.message);
  return err instanceof Error ? err.message : String(err);
}

function currentDetails(state: CardState): string {
  const step = state.pipeline[state.stepIndex] ?? '-';
  const lines = [
    `**${state.card.title}** (${state.card.key})`,
    `phase: **${state.phase}** · run ${state.run} · round ${state.round} · step ${step} (${state.stepIndex + 1}/${state.pipeline.length})`,
    `repo: ${state.card.repo}${state.workspace ? ` · branch ${state.workspace.branch}` : ''}`,
  ];
  if (state.review) lines.push(`review: ${state.review.url}`);
  if (state.lastError) lines.push(`last error: ${state.lastError}`);
  return lines.join('\n\n');
}
