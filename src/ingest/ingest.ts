/**
 * The one path from the outside world into a card's workflow, shared by every provider's webhook, the
 * built-in board's API and operator commands:
 *
 *   delivery log (Postgres, unique on source + delivery ID) → signal-with-start(card key) → mark accepted
 *
 * A 2xx may be sent only once this returns (invariant 6): Temporal has the delivery and the log says accepted.
 * A retried delivery whose first attempt was marked accepted is answered as a duplicate without signalling; one
 * whose first attempt was not is signalled again, and the workflow drops it if it had in fact arrived (delivery
 * IDs are remembered in its state).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { workflowIdForCard } from '../core/cards';
import { isRepoAllowed } from '../core/repos';
import { startsRun } from '../core/state';
import type { CardInfo, ExternalTrigger, PipelineEntry } from '../core/types';
import { markAccepted, markIgnored, recordDelivery, type Database } from '../db';
import type { Logger } from '../log';
import { countDelivery } from '../metrics';
import { OUIJA_BOARD, OUIJA_CARD, OUIJA_PHASE, OUIJA_REPO } from '../temporal/search-attributes';
import { cardWorkflow } from '../../workflows/card';
import { TASK_QUEUES, triggerSignal, type CardSettings } from '../../workflows/messages';
import { ServiceUnavailableError, type InboundEvent, type IngestOutcome } from './types';

export interface IngestDeps {
  db: Kysely<Database>;
  temporal: Client;
  log: Logger;
  pipeline: PipelineEntry[];
  cardSettings: Partial<CardSettings>;
  /** The review limit of a card's board (config `review.maxCards`, per board); a new workflow gets it in its settings. */
  reviewMaxCardsFor?: (card: CardInfo) => number | null;
  allowedRepos: readonly string[];
}

export async function ingest(deps: IngestDeps, event: InboundEvent): Promise<IngestOutcome> {
  try {
    const outcome = await ingestOnce(deps, event);
    countDelivery(event.source, outcome.status);
    return outcome;
  } catch (err) {
    countDelivery(event.source, 'unavailable');
    throw err;
  }
}

async function ingestOnce(deps: IngestDeps, event: InboundEvent): Promise<IngestOutcome> {
  const { source, deliveryId } = event;
  const log = deps.log.child({ source, deliveryId, event: event.event, card: event.card?.key });
  const recorded = await unavailableOnError('database', () =>
    recordDelivery(deps.db, { source, deliveryId, event: event.event, cardKey: event.card?.key ?? null, bodyBytes: event.bodyBytes }),
  );
  if (!recorded.firstSeen && recorded.status !== 'received') {
    log.info({ status: recorded.status }, 'duplicate delivery: already handled');
    return { status: 'duplicate', workflowId: event.card ? workflowIdForCard(event.card.key) : undefined };
  }

  const reason = whyIgnore(deps, event);
  if (reason || !event.card || !event.trigger) {
    const note = reason ?? 'no card or trigger';
    await unavailableOnError('database', () => markIgnored(deps.db, { source, deliveryId, note }));
    log.info({ reason: note }, 'delivery ignored');
    return { status: 'ignored', reason: note };
  }

  const workflowId = workflowIdForCard(event.card.key);
  const delivered = await unavailableOnError('temporal', () => deliver(deps, workflowId, event.card!, event.trigger!));
  if (!delivered) {
    const note = 'no workflow for this card (nothing to act on)';
    await unavailableOnError('database', () => markIgnored(deps.db, { source, deliveryId, note }));
    log.info({ workflowId }, note);
    return { status: 'ignored', reason: note };
  }
  // Temporal has it, but no 2xx until the log says so: a row left 'received' would let a replay after the
  // workflow has closed start it again. The sender's retry is signalled again (the workflow drops it) and marks it.
  await unavailableOnError('database', () => markAccepted(deps.db, { source, deliveryId }));
  log.info({ workflowId, trigger: event.trigger.type }, 'delivery accepted');
  return { status: 'accepted', workflowId };
}

function whyIgnore(deps: IngestDeps, event: InboundEvent): string | null {
  if (!event.card || !event.trigger) return event.ignoredReason ?? 'event not relevant to any card';
  if (startsRun(event.trigger) && !isRepoAllowed(event.card.repo, deps.allowedRepos)) {
    return `repository ${JSON.stringify(event.card.repo)} is not in repos.allow`;
  }
  return null;
}

/**
 * Returns false when the trigger cannot start a workflow and the card has none running. Only triggers that start a
 * run (the core's `startsRun`) may create a workflow; any other for a card without one has nothing to act on.
 */
async function deliver(deps: IngestDeps, workflowId: string, card: CardInfo, trigger: ExternalTrigger): Promise<boolean> {
  if (!startsRun(trigger)) {
    try {
      await deps.temporal.workflow.getHandle(workflowId).signal(triggerSignal, trigger);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }
  await deps.temporal.workflow.signalWithStart(cardWorkflow, {
    workflowId,
    taskQueue: TASK_QUEUES.workflows,
    args: [{ card, pipeline: deps.pipeline, settings: { ...deps.cardSettings, ...(deps.reviewMaxCardsFor ? { reviewMaxCards: deps.reviewMaxCardsFor(card) } : {}) } }],
    signal: triggerSignal,
    signalArgs: [trigger],
    typedSearchAttributes: [
      { key: OUIJA_CARD, value: card.key },
      { key: OUIJA_BOARD, value: card.ref.boardId },
      { key: OUIJA_REPO, value: card.repo },
      { key: OUIJA_PHASE, value: 'idle' },
    ],
    staticSummary: `card ${card.key}: ${card.title.slice(0, 120)}`,
  });
  return true;
}

async function unavailableOnError<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    throw new ServiceUnavailableError(`${what} unavailable: ${(err as Error).message}`, { cause: err });
  }
}
