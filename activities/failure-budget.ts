/**
 * A step's attempts are spent by its own failures, not by crashes of the worker running it.
 *
 * Temporal counts every attempt, including one whose worker was SIGKILLed and timed out on heartbeats, so a
 * card whose push was interrupted five times would fail with nothing wrong with the push (reliability
 * scenario 7). Instead the workflow gives the activity room for crashes in its retry policy
 * (`maxFailures + crashRetries` attempts) and tells it `maxFailures`; the activity counts its own failures in
 * its heartbeat details, which Temporal hands to the next attempt (the details of the last heartbeat before a
 * failure are sent with it, even within the throttle interval). A crash leaves the count where it was.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';

/** The workflow's second argument to a lifecycle activity (absent in histories from before it existed). */
export interface AttemptPolicy {
  /** Failures of the step itself after which it fails for good. */
  maxFailures: number;
}

/** What every heartbeat of a budgeted activity carries, beside its own details. */
export interface FailureCount {
  failures?: number;
}

/** How many earlier attempts failed for real (crashes not counted). */
export function failuresSoFar(ctx: Context): number {
  const carried = ctx.info.heartbeatDetails as FailureCount | undefined;
  return typeof carried?.failures === 'number' ? carried.failures : 0;
}

function endsTheActivity(err: unknown): boolean {
  return err instanceof CancelledFailure || (err instanceof ApplicationFailure && err.nonRetryable === true);
}

/**
 * Runs one attempt. A failure is counted in a last heartbeat (`details()` plus the new count); once the count
 * reaches `policy.maxFailures` the failure is made non-retryable, so the crash room left in Temporal's retry
 * policy is never spent on retrying a step that keeps failing. Without a policy the attempt runs as is.
 */
export async function withFailureBudget<T>(ctx: Context, policy: AttemptPolicy | undefined, details: () => object, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (err) {
    if (policy === undefined || endsTheActivity(err)) throw err;
    const failures = failuresSoFar(ctx) + 1;
    ctx.heartbeat({ ...details(), failures });
    if (failures < policy.maxFailures) throw err;
    const cause = err instanceof Error ? err : new Error(String(err));
    throw ApplicationFailure.create({
      message: cause.message,
      type: err instanceof ApplicationFailure ? (err.type ?? undefined) : cause.name,
      details: err instanceof ApplicationFailure ? (err.details ?? undefined) : undefined,
      nonRetryable: true,
      cause,
    });
  }
}
