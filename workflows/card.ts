/**
 * One workflow per card (workflow ID = `card:<card key>`). It owns no decisions: every trigger goes through
 * the pure `transition()` of src/core, and this code only executes the effects it returns and feeds their
 * results back in as triggers. Deterministic: no I/O here, only Temporal's workflow APIs.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { transition } from '../src/core/transition';
import { initialState, isQuiescent, readState } from '../src/core/state';
import type { BackgroundEffect, CardState, Effect, EffectResult, LifecycleEffect, ResultTrigger, SlotEffect, Trigger } from '../src/core/types';
import { OUIJA_BOARD, OUIJA_CARD, OUIJA_PHASE, OUIJA_REPO } from '../src/temporal/search-attributes';
import type { AttemptPolicy } from '../activities/failure-budget';
import type { AgentActivities, BoardActivities, EffectOf, LimiterActivities, NotifyActivities, WorkspaceActivities } from '../activities/types';
import { coordinationOverhead } from './coordination-overhead';
import { effectFailed, failureOfActivity } from './effect-failed';
import {
  CLUSTER_LIMITS_PATCH,
  DEFAULT_CARD_SETTINGS,
  NON_RETRYABLE_ERRORS,
  TASK_QUEUES,
  hostQueue,
  limitsOf,
  stateQuery,
  triggerSignal,
  type CardSettings,
  type CardWorkflowInput,
} from './messages';

/**
 * Each effect type's activity, called through `proxyActivities<…>` so the compiler ties the effect to the
 * activity's signature (options differ per effect: ID, task queue, summary).
 */
type LifecycleCalls = { [T in LifecycleEffect['type']]: (effect: EffectOf<T>, policy: AttemptPolicy, options: ActivityOptions) => Promise<EffectResult> };
const lifecycleCalls: LifecycleCalls = {
  prepareWorkspace: (effect, policy, options) => proxyActivities<WorkspaceActivities>(options).prepareWorkspace(effect, policy),
  runAgent: (effect, policy, options) => proxyActivities<AgentActivities>(options).runAgent(effect, policy),
  publish: (effect, policy, options) => proxyActivities<WorkspaceActivities>(options).publish(effect, policy),
  cleanupWorkspace: (effect, policy, options) => proxyActivities<WorkspaceActivities>(options).cleanupWorkspace(effect, policy),
  prepareGroup: (effect, policy, options) => proxyActivities<WorkspaceActivities>(options).prepareGroup(effect, policy),
  mergeGroup: (effect, policy, options) => proxyActivities<WorkspaceActivities>(options).mergeGroup(effect, policy),
};
type BackgroundCalls = { [T in BackgroundEffect['type']]: (effect: EffectOf<T>, options: ActivityOptions) => Promise<void> };
const backgroundCalls: BackgroundCalls = {
  moveCard: (effect, options) => proxyActivities<BoardActivities>(options).moveCard(effect),
  comment: (effect, options) => proxyActivities<BoardActivities>(options).comment(effect),
  notify: (effect, options) => proxyActivities<NotifyActivities>(options).notify(effect),
};
/** The limiters are signalled from this worker: a local activity, no task queue round trip. */
const { signalLimiter } = proxyLocalActivities<LimiterActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

export async function cardWorkflow(input: CardWorkflowInput): Promise<CardState> {
  const settings: CardSettings = { ...DEFAULT_CARD_SETTINGS, ...input.settings };
  // New runs take cluster-wide slots; runs begun before the patch replay as they were written (no limits).
  const limits = patched(CLUSTER_LIMITS_PATCH) ? limitsOf(settings) : undefined;
  let state: CardState = input.carried ? readState(input.carried.state) : initialState(input.card, input.pipeline, limits);
  if (limits && !state.limits) state = { ...state, limits };
  const inbox: Trigger[] = [...(input.carried?.inbox ?? [])];
  /** Cancellation scopes of in-flight lifecycle effects, by effect ID. */
  const running = new Map<string, CancellationScope>();
  /** Fire-and-forget effects run in order per queue (a limiter's signals too); the workflow waits for them before it ends. */
  const chains = new Map<string, Promise<void>>();
  let backgroundPending = 0;
  const observeOverhead = coordinationOverhead();
  const { workflowId, firstExecutionRunId } = workflowInfo();

  setHandler(triggerSignal, (trigger) => {
    inbox.push(trigger);
  });
  setHandler(stateQuery, () => state);

  const startLifecycle = (effect: LifecycleEffect): void => {
    const scope = new CancellationScope();
    const { options, onHost } = lifecycleOptions(effect, state, settings);
    const call = lifecycleCalls[effect.type] as (effect: LifecycleEffect, policy: AttemptPolicy, options: ActivityOptions) => Promise<EffectResult>;
    running.set(effect.effectId, scope);
    void scope
      .run(() => call(effect, attemptPolicy(effect, settings), options))
      .then(
        (result): ResultTrigger => ({ type: 'effect.succeeded', effectId: effect.effectId, result }),
        (err: unknown): ResultTrigger => {
          const failure = failureOfActivity(err, onHost);
          return effectFailed(effect.effectId, failure.message, isCancellation(err), failure.hostLost);
        },
      )
      .then((trigger) => {
        running.delete(effect.effectId);
        inbox.push(trigger);
      });
  };

  /** Runs `work` after everything queued on `chain` before it; a failure is logged, never stops the card. */
  const inOrder = (chain: string, what: string, work: () => Promise<void>): void => {
    backgroundPending++;
    const previous = chains.get(chain) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((err: unknown) => log.warn('background effect failed', { effect: what, error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        backgroundPending--;
      });
    chains.set(chain, next);
  };

  const startBackground = (effect: BackgroundEffect): void => {
    const queue = effect.type === 'notify' ? TASK_QUEUES.notify : TASK_QUEUES.board;
    const call = backgroundCalls[effect.type] as (effect: BackgroundEffect, options: ActivityOptions) => Promise<void>;
    inOrder(queue, effect.type, () => call(effect, backgroundOptions(effect, queue, settings)));
  };

  const signalSlot = (effect: SlotEffect): void => {
    // One chain for every limiter: a release never overtakes the ask it withdraws.
    inOrder('limiters', effect.type, () =>
      signalLimiter(
        effect.type === 'acquireSlot'
          ? { limiter: effect.limiter, acquire: { workflowId, firstRunId: firstExecutionRunId, pool: effect.pool, token: effect.token, count: effect.count, max: effect.max } }
          : { limiter: effect.limiter, release: { workflowId, token: effect.token } },
      ),
    );
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
      case 'acquireSlot':
      case 'releaseSlot':
        return signalSlot(effect);
    }
  };

  const shouldContinueAsNew = (): boolean =>
    state.inFlight === null &&
    running.size === 0 &&
    backgroundPending === 0 &&
    (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= settings.continueAsNewAfterEvents);

  let published = '';
  let details = '';
  const publishState = (): void => {
    const key = `${state.phase}|${state.card.key}|${state.card.repo}`;
    if (key !== published) {
      published = key;
      upsertSearchAttributes([
        { key: OUIJA_CARD, value: state.card.key },
        { key: OUIJA_BOARD, value: state.card.ref.boardId },
        { key: OUIJA_REPO, value: state.card.repo },
        { key: OUIJA_PHASE, value: state.phase },
      ]);
    }
    const now = currentDetails(state);
    if (now !== details) setCurrentDetails((details = now));
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
      // Carries the state, including remembered delivery IDs (invariant 2) and held slots, into a fresh history.
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

/**
 * Where and how a lifecycle effect runs. Work on a worktree goes to the host that holds it (`Workspace.host`, or a
 * revision's `prepareWorkspace.host`), with a schedule-to-start timeout that declares the host lost; the rest (the
 * first prepare of a run, or a workspace made by a worker from before hosts) to the shared queue any host takes.
 */
function lifecycleOptions(effect: LifecycleEffect, state: CardState, settings: CardSettings): { options: ActivityOptions; onHost: boolean } {
  const card = state.card.key;
  const host = effect.type === 'prepareWorkspace' ? effect.host : effect.workspace.host;
  const kind = effect.type === 'runAgent' ? 'agents' : 'git';
  const placement = host === undefined ? { taskQueue: TASK_QUEUES[kind] } : { taskQueue: hostQueue(host, kind), scheduleToStartTimeout: settings.hostLostAfterMs };
  const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_ERRORS] };
  const maximumAttempts = attemptPolicy(effect, settings).maxFailures + settings.crashRetries;
  const options: ActivityOptions =
    effect.type === 'runAgent'
      ? {
          activityId: effect.effectId,
          ...placement,
          startToCloseTimeout: settings.agentTimeoutMs,
          heartbeatTimeout: settings.agentHeartbeatTimeoutMs,
          // The workflow learns of the cancellation only once the agent's process group is gone.
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          retry: { ...retry, initialInterval: '2s', maximumAttempts },
          summary: `agent · step ${effect.step} (${effect.stepIndex + 1}/${state.pipeline.length}) · run ${state.run} round ${effect.round} · card ${card}${host ? ` · host ${host}` : ''}`,
        }
      : {
          activityId: effect.effectId,
          ...placement,
          startToCloseTimeout: '10 minutes',
          heartbeatTimeout: settings.activityHeartbeatTimeoutMs,
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          retry: { ...retry, maximumAttempts },
          summary: `${effect.type} · run ${state.run} · card ${card}${host ? ` · host ${host}` : ''}`,
        };
  return { options, onHost: host !== undefined };
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

function currentDetails(state: CardState): string {
  const step = state.pipeline[state.stepIndex] ?? '-';
  const lines = [
    `**${state.card.title}** (${state.card.key})`,
    `phase: **${state.phase}** · run ${state.run} · round ${state.round} · step ${step} (${state.stepIndex + 1}/${state.pipeline.length})`,
    `repo: ${state.card.repo}${state.workspace ? ` · branch ${state.workspace.branch}` : ''}${state.workspace?.host ? ` · host ${state.workspace.host}` : ''}`,
  ];
  if (state.inFlight?.kind === 'slot') {
    lines.push(
      state.inFlight.pool === 'agents'
        ? `queued: waiting for one of the cluster's ${state.limits?.agents ?? '?'} agent slots`
        : `queued: waiting for one of the board's ${state.limits?.review ?? '?'} review slots`,
    );
  }
  if (state.review) lines.push(`review: ${state.review.url}`);
  if (state.lastError) lines.push(`last error: ${state.lastError}`);
  return lines.join('\n\n');
}
