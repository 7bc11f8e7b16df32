/**
 * Rebuilds what a card workflow decided, from its history alone: the triggers it processed, in the order it
 * processed them, fed through the pure `transition()` from the state the run started with. No agent, no git,
 * no server: a saved history is enough to see why a card did what it did.
 *
 * Where triggers come from (workflows/card.ts):
 * - `trigger` signals (also the one carried by signal-with-start, which the server records as an ordinary
 *   WorkflowExecutionSignaled event right after the start event);
 * - results of lifecycle activities (their activity ID is the effect ID): ActivityTaskCompleted →
 *   effect.succeeded; ActivityTaskFailed / TimedOut / Canceled → effect.failed. Background activities
 *   (moveCard, comment, notify) feed nothing back;
 * - after continue-as-new, the inbox the previous run handed over, before anything else.
 *
 * Order. The workflow pushes a signal into its inbox when the signal job is applied, and an activity result
 * when the activity's promise resolves; it processes the inbox first in, first out. One workflow task is one
 * activation, and within an activation:
 * - Core sorts the jobs: initialize, patches, random seed, then signals and updates, then everything else
 *   (activity resolutions) in history order (sdk-core `workflow/mod.rs`, a stable sort; the contract is written
 *   down in `workflow_activation.proto`);
 * - the TypeScript SDK (1.24, `worker/lib/workflow/vm-shared.js`) applies all jobs of the activation before it
 *   runs any microtask (with the ProcessWorkflowActivationJobsAsSingleBatch flag; older histories ran signals
 *   as a first batch and the rest as a second, which gives the same order). Signal handlers push at once;
 *   activity results are pushed from promise callbacks, i.e. after every signal of the activation.
 * So: the events a workflow task delivers are those since the previous WorkflowTaskCompleted (a failed or
 * timed-out task delivers them again with the next attempt), and within them every signal comes before every
 * activity result, each group in history order.
 */
import { decodeTimeoutType, defaultFailureConverter, defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { transition } from '../core/transition';
import { initialState, readState } from '../core/state';
import { LIFECYCLE_EFFECT_TYPES, type CardState, type Effect, type EffectResult, type ResultTrigger, type Trigger } from '../core/types';
import { activityFailureMessage, effectFailed, meansHostLost } from '../../workflows/effect-failed';
import { CLUSTER_LIMITS_PATCH, DEFAULT_CARD_SETTINGS, isHostQueue, limitsOf, triggerSignal, type CardWorkflowInput } from '../../workflows/messages';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Failure = temporal.api.failure.v1.IFailure;

/** Activities whose results come back to the workflow as triggers. */
const LIFECYCLE_ACTIVITIES: ReadonlySet<string> = new Set(LIFECYCLE_EFFECT_TYPES);

interface ScheduledActivity {
  activityId: string;
  type: string;
  taskQueue: string;
}

export interface HistoryTrigger {
  /** The event that delivered it; for a trigger carried over by continue-as-new, the start event. */
  eventId: number;
  origin: 'signal' | 'activity' | 'carried';
  trigger: Trigger;
  /** Delivered after the last completed workflow task: the workflow has not processed it (yet). */
  pending?: true;
}

export interface TraceStep extends HistoryTrigger {
  /** 1-based position in the sequence. */
  step: number;
  before: CardState;
  after: CardState;
  effects: Effect[];
  /** Why `transition()` ignored the trigger, if it did. */
  ignored?: string;
}

/** The card workflow's argument, from the start event. */
export function cardInputOf(history: History): CardWorkflowInput {
  const start = history.events?.[0];
  const attrs = start?.workflowExecutionStartedEventAttributes;
  if (start?.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED || !attrs) {
    throw new TypeError('history does not begin with WorkflowExecutionStarted');
  }
  const input = fromPayloadsAtIndex<CardWorkflowInput>(defaultPayloadConverter, 0, attrs.input?.payloads);
  if (!input?.card) throw new TypeError(`not a card workflow (${attrs.workflowType?.name ?? 'unknown type'}): its input has no card`);
  return input;
}

/** The state the run began in: carried over by continue-as-new, else the card's initial state. */
export function initialStateOf(history: History): CardState {
  const input = cardInputOf(history);
  if (input.carried) return readState(input.carried.state);
  return initialState(input.card, input.pipeline, limitsOfRun(history, input));
}

/** The limits a run began with: those of its settings, if it ran under the limits patch (its first task's marker). */
function limitsOfRun(history: History, input: CardWorkflowInput): CardState['limits'] {
  const patchedRun = (history.events ?? []).some(
    (event) => event.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && markerPatchId(event) === CLUSTER_LIMITS_PATCH,
  );
  return patchedRun ? limitsOf({ ...DEFAULT_CARD_SETTINGS, ...input.settings }) : undefined;
}

/** The patch a `core_patch` marker records: sdk-core writes `{ "id": …, "deprecated": … }` under `patch-data`. */
function markerPatchId(event: HistoryEvent): string | undefined {
  const attrs = event.markerRecordedEventAttributes;
  if (attrs?.markerName !== 'core_patch') return undefined;
  return fromPayloadsAtIndex<{ id?: string }>(defaultPayloadConverter, 0, attrs.details?.['patch-data']?.payloads)?.id;
}

/** The triggers of the run, in the order the workflow processed them (see the module comment). */
export function triggersOf(history: History): HistoryTrigger[] {
  const events = history.events ?? [];
  const input = cardInputOf(history);
  const startId = eventIdOf(events[0]);
  const ordered: HistoryTrigger[] = (input.carried?.inbox ?? []).map((trigger) => ({ eventId: startId, origin: 'carried', trigger }));
  const scheduled = new Map<number, ScheduledActivity>();
  let signals: HistoryTrigger[] = [];
  let results: HistoryTrigger[] = [];

  for (const event of events) {
    const eventId = eventIdOf(event);
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      ordered.push(...signals, ...results);
      signals = [];
      results = [];
    } else if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) {
      const trigger = signalTrigger(event);
      if (trigger) signals.push({ eventId, origin: 'signal', trigger });
    } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const attrs = event.activityTaskScheduledEventAttributes;
      scheduled.set(eventId, { activityId: attrs?.activityId ?? '', type: attrs?.activityType?.name ?? '', taskQueue: attrs?.taskQueue?.name ?? '' });
    } else {
      const trigger = resultTrigger(event, scheduled);
      if (trigger) results.push({ eventId, origin: 'activity', trigger });
    }
  }
  const pending = [...signals, ...results].map((t): HistoryTrigger => ({ ...t, pending: true }));
  return [...ordered, ...pending];
}

/** Every trigger of the run through `transition()`, from the run's initial state. */
export function traceHistory(history: History): TraceStep[] {
  let state = initialStateOf(history);
  return triggersOf(history).map((delivered, index) => {
    const { state: after, effects, ignored } = transition(state, delivered.trigger);
    const step: TraceStep = { step: index + 1, ...delivered, before: state, after, effects, ...(ignored !== undefined && { ignored }) };
    state = after;
    return step;
  });
}

function signalTrigger(event: HistoryEvent): Trigger | undefined {
  const attrs = event.workflowExecutionSignaledEventAttributes;
  if (attrs?.signalName !== triggerSignal.name) return undefined;
  return fromPayloadsAtIndex<Trigger>(defaultPayloadConverter, 0, attrs.input?.payloads) ?? undefined;
}

/** An activity result event of a lifecycle activity, as the trigger workflows/card.ts makes of it. */
function resultTrigger(event: HistoryEvent, scheduled: Map<number, ScheduledActivity>): ResultTrigger | undefined {
  const completed = event.activityTaskCompletedEventAttributes;
  const failed = event.activityTaskFailedEventAttributes;
  const timedOut = event.activityTaskTimedOutEventAttributes;
  const canceled = event.activityTaskCanceledEventAttributes;
  const attrs = completed ?? failed ?? timedOut ?? canceled;
  if (!attrs) return undefined;
  const activity = scheduled.get(Number(attrs.scheduledEventId ?? 0));
  if (!activity || !LIFECYCLE_ACTIVITIES.has(activity.type)) return undefined;
  const effectId = activity.activityId;

  if (completed) {
    const result = fromPayloadsAtIndex<EffectResult>(defaultPayloadConverter, 0, completed.result?.payloads);
    return { type: 'effect.succeeded', effectId, result };
  }
  // Core hands the workflow an ActivityFailure with these messages whose cause is the event's failure
  // (sdk-core activity_state_machine.rs); a cancellation's cause carries no message.
  if (failed) return effectFailed(effectId, activityFailureMessage('Activity task failed', messageOf(failed.failure)), false);
  if (timedOut) {
    const timeout = decodeTimeoutType(timedOut.failure?.timeoutFailureInfo?.timeoutType);
    const hostLost = meansHostLost(isHostQueue(activity.taskQueue), timeout);
    return effectFailed(effectId, activityFailureMessage('Activity task timed out', messageOf(timedOut.failure)), false, hostLost);
  }
  return effectFailed(effectId, 'Activity cancelled', true);
}

/** A failure's message as the workflow sees it (the failure converter decodes an encoded one). */
function messageOf(failure: Failure | null | undefined): string | undefined {
  return failure ? defaultFailureConverter.failureToError(failure, defaultPayloadConverter).message : undefined;
}

function eventIdOf(event: HistoryEvent | undefined): number {
  return Number(event?.eventId ?? 0);
}
