/**
 * Log context for activities: every line an activity writes names its card, workflow, run, activity and
 * attempt, so one card's story can be read from the JSON log with a single filter (`card` or `workflowId`).
 */
import { Context } from '@temporalio/activity';
import { cardKeyFromWorkflowId } from '../src/core/cards';
import type { Logger } from '../src/log';

/** The card key of a card workflow's ID (`card:<key>`); undefined for any other workflow. */
export function cardKeyOfWorkflow(workflowId: string | undefined): string | undefined {
  return workflowId?.startsWith('card:') ? cardKeyFromWorkflowId(workflowId) : undefined;
}

/** A child of `base` carrying the current activity's context. Call it inside an activity. */
export function activityLogger(base: Logger): Logger {
  const { workflowExecution, activityId, activityType, attempt } = Context.current().info;
  return base.child({
    card: cardKeyOfWorkflow(workflowExecution?.workflowId),
    workflowId: workflowExecution?.workflowId,
    runId: workflowExecution?.runId,
    activityId,
    activityType,
    attempt,
  });
}
