/**
 * Long-lived cards continue-as-new before their history grows large, carrying their state and the delivery IDs
 * they have applied (invariant 2): a delivery repeated after the continue-as-new still changes nothing.
 */
import { workflowIdForCard } from '../../../src/core/cards';
import { signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ continueAsNewAfterEvents: 20 });
});
afterAll(async () => {
  await h?.stop();
});

test('a card continues as new in review, keeps its state, and still ignores a delivery it applied before', async () => {
  const c = await h.newCard('Long-lived card');
  const move = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'in-progress' });
  const headers = (id: string, body: string) => ({ 'content-type': 'application/json', 'x-ouija-delivery': id, 'x-ouija-signature': signBuiltinBody(WEBHOOK_SECRET, body) });
  expect((await h.api('POST', '/webhooks/builtin', move, headers('first-move', move))).status).toBe(200);
  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review');

  const handle = h.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey));
  // The first run's history is well past 20 events once in review: it continues as new while waiting.
  // (Detected from the current run's first event, so it does not matter whether that already happened.)
  const continuedFrom = async () => (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? '';
  let previousRun = '';
  for (let i = 0; i < 150 && !previousRun; i++) {
    previousRun = await continuedFrom();
    if (!previousRun) await new Promise((r) => setTimeout(r, 100));
  }
  expect(previousRun).not.toBe('');
  expect((await handle.describe()).runId).not.toBe(previousRun);
  const carried = await h.state(c.cardKey);
  expect(carried).toEqual(review);
  expect(carried.deliveries).toContain('first-move');

  // Straight to the workflow (as a lost-then-found webhook retry could), bypassing the delivery log:
  await handle.signal('trigger', { type: 'card.moved', deliveryId: 'first-move', column: 'working' });
  await new Promise((r) => setTimeout(r, 500));
  expect(await h.state(c.cardKey)).toEqual(carried);

  await h.api('POST', `/api/cards/${c.cardId}/approve`, {});
  const final = await handle.result();
  expect(final.phase).toBe('done');
});
