/**
 * Small card workflow histories built event by event, shaped as the server writes them, for the pure
 * readers of src/temporal (trace, history JSON) without a server.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import type { CardInfo, EffectResult, Trigger } from '../../../src/core/types';
import type { CardWorkflowInput } from '../../../workflows/messages';

const EventType = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;

export const CARD: CardInfo = {
  ref: { provider: 'builtin', boardId: 'b1', cardId: 'c1' },
  key: 'builtin:b1:c1',
  title: 'Add a greeting',
  body: '',
  repo: '/srv/git/demo.git',
};

export const WORKSPACE = { path: '/data/worktrees/c1', branch: 'ouija/c1-add-a-greeting-00000000', baseSha: 'a'.repeat(40), remoteSha: null };
export const PREPARED: EffectResult = { kind: 'prepare', workspace: WORKSPACE };

const payloads = (value: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(value)] });

export class HistoryBuilder {
  private readonly events: Event[] = [];

  constructor(input: CardWorkflowInput = { card: CARD }) {
    this.add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: 'cardWorkflow' },
        workflowId: `card:${input.card?.key ?? 'unknown'}`,
        taskQueue: { name: 'ouija-workflows', kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        input: payloads(input),
      },
    });
  }

  /** Adds an event; returns its ID. */
  add(eventType: temporal.api.enums.v1.EventType, attributes: Record<string, unknown>): number {
    const eventId = this.events.length + 1;
    // fromObject turns the plain numbers into the Longs a history from the server carries.
    this.events.push(temporal.api.history.v1.HistoryEvent.fromObject({ eventId, eventType, ...attributes }));
    return eventId;
  }

  signal(trigger: Trigger, signalName = 'trigger'): number {
    return this.add(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
      workflowExecutionSignaledEventAttributes: { signalName, input: payloads(trigger) },
    });
  }

  /** A workflow task that ran to completion: everything before it has been processed. */
  workflowTask(): this {
    const scheduledEventId = this.add(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, {
      workflowTaskScheduledEventAttributes: { taskQueue: { name: 'ouija-workflows' }, attempt: 1 },
    });
    const startedEventId = this.add(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, { workflowTaskStartedEventAttributes: { scheduledEventId } });
    this.add(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, { workflowTaskCompletedEventAttributes: { scheduledEventId, startedEventId } });
    return this;
  }

  /** Returns the scheduled event's ID, which the result events refer to. */
  schedule(activityType: string, activityId: string): number {
    return this.add(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {
      activityTaskScheduledEventAttributes: { activityId, activityType: { name: activityType }, taskQueue: { name: 'ouija-git' } },
    });
  }

  complete(scheduledEventId: number, result: unknown): number {
    return this.add(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, {
      activityTaskCompletedEventAttributes: { scheduledEventId, result: payloads(result) },
    });
  }

  fail(scheduledEventId: number, message: string): number {
    return this.add(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, {
      activityTaskFailedEventAttributes: {
        scheduledEventId,
        failure: { message, applicationFailureInfo: { type: 'AgentFailedError', nonRetryable: false } },
        retryState: temporal.api.enums.v1.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED,
      },
    });
  }

  timeOut(scheduledEventId: number): number {
    return this.add(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, {
      activityTaskTimedOutEventAttributes: {
        scheduledEventId,
        failure: {
          message: 'activity Heartbeat timeout',
          timeoutFailureInfo: { timeoutType: temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT },
        },
        retryState: temporal.api.enums.v1.RetryState.RETRY_STATE_TIMEOUT,
      },
    });
  }

  cancel(scheduledEventId: number): number {
    return this.add(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, { activityTaskCanceledEventAttributes: { scheduledEventId } });
  }

  build(): History {
    return { events: [...this.events] };
  }
}
