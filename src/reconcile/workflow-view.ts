/** Temporal's side of the comparison: one describe per card, no query (so no worker needs to be up). */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { workflowIdForCard } from '../core/cards';
import { ACTIVE_PHASES, TERMINAL_PHASES, type Phase } from '../core/types';
import { OUIJA_PHASE } from '../temporal/search-attributes';
import type { WorkflowView } from './types';

const PHASES: readonly string[] = [...ACTIVE_PHASES, 'review', ...TERMINAL_PHASES];

/** The card's latest workflow run (following continue-as-new), or null when Temporal has none. */
export async function describeCardWorkflow(temporal: Client, cardKey: string): Promise<WorkflowView | null> {
  try {
    const d = await temporal.workflow.getHandle(workflowIdForCard(cardKey)).describe();
    // The workflow publishes its phase as a search attribute on every change (workflows/card.ts).
    const phase = d.typedSearchAttributes.get(OUIJA_PHASE);
    const running = d.status.name === 'RUNNING' || d.status.name === 'PAUSED';
    return {
      status: running ? 'running' : 'closed',
      phase: phase !== undefined && PHASES.includes(phase) ? (phase as Phase) : null,
      closedAt: running ? null : (d.closeTime ?? null),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
