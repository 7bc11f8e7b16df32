/**
 * The cluster-wide limits' own guarantees on the real parts: the limiter never leaks a slot to a card workflow that
 * stopped without giving it back (terminated by an operator: its sweep frees it), and its holder check tells a
 * running card from a finished, missing or later execution of it. (Limits across hosts, and across a workflow worker
 * restart: test/integration/cluster/multi-host.test.ts.)
 */
import { createLimiterActivities } from '../../../activities/limits';
import { workflowIdForCard } from '../../../src/core/cards';
import { limiterQuery, limiterWorkflowId } from '../../../workflows/messages';
import { moveToWork } from '../../support/agent-cli';
import { startHarness, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: { maxConcurrent: 1 }, workers: { limiterSweepMs: 1_000 } });
});
afterAll(async () => {
  await h?.stop();
});

test('a card workflow terminated while it holds the only agent slot: the sweep frees it and the next card runs', async () => {
  const holder = await h.newCard('Holds the slot', 'ouija-demo: sleep=120000 heartbeat=300');
  await moveToWork(h, holder);
  await h.waitFor(holder.cardKey, (s) => s.phase === 'working', 'the first card working');
  const waiter = await h.newCard('Waits for it', '');
  await moveToWork(h, waiter);
  await h.waitFor(waiter.cardKey, (s) => s.phase === 'queued', 'the second card queued');

  const limiter = h.ouija.temporal.workflow.getHandle(limiterWorkflowId('agents'));
  const before = await limiter.query(limiterQuery);
  expect(before.holders.map((r) => r.workflowId)).toEqual([holder.workflowId]);
  expect(before.waiting.map((r) => r.workflowId)).toEqual([waiter.workflowId]);

  // An operator terminates the holder: its workflow can give nothing back.
  await h.ouija.temporal.workflow.getHandle(holder.workflowId).terminate('operator test');
  const review = await h.waitFor(waiter.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'the second card in review', 60_000);
  expect(review.phase).toBe('review');
  const after = await limiter.query(limiterQuery).catch(() => null); // it ends once nothing is held
  expect(after?.holders.map((r) => r.workflowId) ?? []).not.toContain(holder.workflowId);
});

test('the holder check: a running card is no stale holder; a finished, missing or later execution is', async () => {
  const { staleSlotHolders } = createLimiterActivities(h.ouija.temporal);
  const card = await h.newCard('Running', 'ouija-demo: sleep=30000 heartbeat=300');
  await moveToWork(h, card);
  await h.waitFor(card.cardKey, (s) => s.phase === 'working', 'the card working');
  const { runId } = await h.ouija.temporal.workflow.getHandle(card.workflowId).describe();
  const missing = workflowIdForCard('builtin:nowhere:c0');
  const stale = await staleSlotHolders([
    { workflowId: card.workflowId, firstRunId: runId, token: 'a' },
    { workflowId: card.workflowId, firstRunId: 'an-earlier-execution', token: 'b' },
    { workflowId: missing, firstRunId: 'x', token: 'c' },
  ]);
  // The card's own execution is live; a holder naming another execution of the same card is not (both are that
  // card's workflow ID, so it is listed once), and a workflow that does not exist is not.
  expect(stale.sort()).toEqual([card.workflowId, missing].sort());
  expect(await staleSlotHolders([{ workflowId: card.workflowId, firstRunId: runId, token: 'a' }])).toEqual([]);

  await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'backlog', expectedVersion: (await h.api('GET', `/api/cards/${card.cardId}`)).body.version });
  await h.ouija.temporal.workflow.getHandle(card.workflowId).result();
  expect(await staleSlotHolders([{ workflowId: card.workflowId, firstRunId: runId, token: 'a' }])).toEqual([card.workflowId]);
});
