/**
 * Is a card's workflow out of step with its board column? Pure: the reconciler's one decision. A card out of
 * step gets a synthetic `card.moved` for its column through the ingest path; the lifecycle (transition())
 * then decides what that means, exactly as if the board's webhook had arrived.
 *
 * Deliberately conservative: a wrong "out of step" sends a move the card never made, so only the states a
 * lost webhook can leave behind count. Running workflows in a run phase are never disturbed: the card
 * columns lag the workflow by design (the workflow moves the card itself, in the background), so e.g. a
 * revising card may still sit in review for a moment.
 */
import type { SnapshotEntry, WorkflowView } from './types';

export function outOfStep(entry: Pick<SnapshotEntry, 'role' | 'changedAt'>, workflow: WorkflowView | null): string | null {
  switch (entry.role) {
    case 'working':
      return workingOutOfStep(entry, workflow);
    case 'review':
      // The workflow moves the card to review once it has published, so a card in review without a
      // workflow was put there by hand or its workflow is long gone: delivered so the log shows it.
      return workflow === null ? 'card is in a review column but has no workflow' : null;
    default:
      return null;
  }
}

/** Whether outOfStep reads the entry's changedAt: only for a working card whose workflow closed. */
export function changeTimeDecides(role: SnapshotEntry['role'], workflow: WorkflowView | null): boolean {
  return role === 'working' && workflow?.status === 'closed';
}

function workingOutOfStep(entry: Pick<SnapshotEntry, 'changedAt'>, workflow: WorkflowView | null): string | null {
  if (workflow === null) return 'card is in a working column but has no workflow';
  // A running workflow has the move (a start is signal-with-start): idle means its first trigger is still
  // being handled (an idle workflow with nothing to do completes), a terminal phase means a run settling.
  if (workflow.status === 'running') return null;
  // Closed. A run that failed or was cancelled leaves the card in the working column on purpose: it waits
  // for a human to move the card again. So only a board change after the close is a missed move.
  const { changedAt } = entry;
  const { closedAt } = workflow;
  if (changedAt && closedAt && changedAt.getTime() <= closedAt.getTime()) return null;
  return `card is in a working column but its workflow closed (${workflow.phase ?? 'phase unknown'})${changedAt ? ' before the card last changed' : ''}`;
}
