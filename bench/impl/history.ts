/** Reading timings back out of a workflow's history (server timestamps, the same clock as the bench's). */
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';

export interface ActivityTiming {
  type: string;
  scheduled: number;
  started: number | null;
  closed: number | null;
}

/** Every activity of the workflow's latest run, in scheduling order. */
export async function activityTimings(handle: WorkflowHandle): Promise<ActivityTiming[]> {
  const history = await handle.fetchHistory();
  const byScheduledId = new Map<string, ActivityTiming>();
  for (const e of history.events ?? []) {
    const t = tsToMs(e.eventTime);
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      byScheduledId.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', scheduled: t, started: null, closed: null });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) byScheduledId.get(String(started.scheduledEventId))!.started = t;
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (closed) byScheduledId.get(String(closed.scheduledEventId))!.closed = t;
  }
  return [...byScheduledId.values()];
}

/** When the (last) publish activity completed. */
export async function publishCompletedAt(handle: WorkflowHandle): Promise<number> {
  const publish = (await activityTimings(handle)).filter((a) => a.type === 'publish' && a.closed !== null).pop();
  if (!publish) throw new Error(`workflow ${handle.workflowId} has no completed publish activity`);
  return publish.closed!;
}
