/**
 * How a lifecycle activity's failure becomes the `effect.failed` trigger `transition()` sees. The card
 * workflow makes it from the ActivityFailure it catches; src/temporal/trace.ts rebuilds it from the history
 * event that recorded the failure. Both call this, so the trace shows what the workflow decided.
 * Pure and free of imports with side effects: it is part of the workflow bundle.
 */
import { ActivityFailure, TimeoutFailure, type TimeoutType } from '@temporalio/common';
import type { ResultTrigger } from '../src/core/types';


/**
 * Whether a failure of an activity on a host's own queue means the host is gone: no worker there took the task
 * in time (schedule-to-start), or every attempt died without a word (its retries spent on heartbeat timeouts).
 */
export function meansHostLost(onHostQueue: boolean, timeout: TimeoutType | undefined): boolean {
  return onHostQueue && (timeout === 'SCHEDULE_TO_START' || timeout === 'HEARTBEAT');
}

/**
 * What an activity failure says went wrong. Core wraps every activity failure in an ActivityFailure whose own
 * message only says how the activity ended (`Activity task failed`, `Activity task timed out`, `Activity
 * cancelled`); the cause holds the activity's own error or the timeout. Its message wins; the wrapper's is
 * the fallback when there is no cause or it says nothing (a cancellation's).
 */
export function activityFailureMessage(wrapperMessage: string, causeMessage: string | undefined): string {
  return causeMessage || wrapperMessage;
}

/** The trigger for a lifecycle effect whose activity failed, timed out or was cancelled. */
export function effectFailed(effectId: string, error: string, cancelled: boolean, hostLost = false): ResultTrigger {
  // The activity's own retry policy has run its course: retrying the step again cannot help.
  return { type: 'effect.failed', effectId, error, retryable: false, cancelled, ...(hostLost ? { hostLost } : {}) };
}

/** What the workflow makes of the error a lifecycle activity's call rejected with. */
export function failureOfActivity(err: unknown, onHostQueue: boolean): { message: string; hostLost: boolean } {
  if (err instanceof ActivityFailure) {
    const timeout = err.cause instanceof TimeoutFailure ? err.cause.timeoutType : undefined;
    return { message: activityFailureMessage(err.message, err.cause?.message), hostLost: meansHostLost(onHostQueue, timeout) };
  }
  return { message: err instanceof Error ? err.message : String(err), hostLost: false };
}
