/**
 * Operator commands (`ouija retry`, `ouija cancel`) as HTTP calls, so they travel the same ingestion path and the
 * same `trigger` signal as a board event: delivery log, signal(-with-start), dedup by delivery ID.
 */
import crypto from 'node:crypto';
import express from 'express';
import { WorkflowNotFoundError } from '@temporalio/common';
import { InvalidCardRefError, parseCardKey, workflowIdForCard } from '../core/cards';
import type { CardInfo, OperatorTrigger } from '../core/types';
import { ingest, ServiceUnavailableError, type IngestDeps } from '../ingest';
import { stateQuery } from '../../workflows/messages';

export const OPERATOR_SOURCE = 'operator';

export function operatorApiRouter(deps: IngestDeps): express.Router {
  const router = express.Router();
  router.post('/api/operator/cards/:cardKey/:action', async (req, res) => {
    const action = req.params.action;
    if (action !== 'retry' && action !== 'cancel') return void res.status(404).json({ error: `unknown action ${action}` });
    try {
      parseCardKey(req.params.cardKey);
    } catch (err) {
      if (err instanceof InvalidCardRefError) return void res.status(400).json({ error: err.message });
      throw err;
    }
    const workflowId = workflowIdForCard(req.params.cardKey);
    let card: CardInfo;
    try {
      // The card as its last run knew it (a query answers for closed workflows too, while a worker is up).
      card = (await deps.temporal.workflow.getHandle(workflowId).query(stateQuery)).card;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return void res.status(404).json({ error: `no workflow for card ${req.params.cardKey}` });
      return void res.status(503).set('Retry-After', '5').json({ error: `temporal unavailable: ${(err as Error).message}` });
    }
    const key = req.get('idempotency-key');
    const deliveryId = `${action}:${key && /^[A-Za-z0-9_.:-]{1,100}$/.test(key) ? key : crypto.randomUUID()}`;
    const trigger: OperatorTrigger = { type: action === 'retry' ? 'operator.retry' : 'operator.cancel', deliveryId };
    try {
      const outcome = await ingest(deps, { source: OPERATOR_SOURCE, deliveryId, event: trigger.type, bodyBytes: 0, card, trigger });
      res.json({ deliveryId, ...outcome });
    } catch (err) {
      if (err instanceof ServiceUnavailableError) return void res.status(503).set('Retry-After', '5').json({ error: err.message });
      throw err;
    }
  });
  return router;
}
