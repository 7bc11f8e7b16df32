/**
 * Walking skeleton, tests 5 and 6, and the webhook's answers to bad input: the same built-in delivery sent
 * five times at once makes one transition and one agent run; two racing moves through the API give one
 * winner and one clear conflict; bad signatures, malformed and oversized bodies are rejected and logged.
 */
import { getDelivery, listAgentRuns, listRejections } from '../../../src/db';
import { signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ webhooks: { maxBodyBytes: 64 * 1024 } });
});
afterAll(async () => {
  await h?.stop();
});

function post(body: string, deliveryId: string, signature = signBuiltinBody(WEBHOOK_SECRET, body)) {
  return h.api('POST', '/webhooks/builtin', body, { 'content-type': 'application/json', 'x-ouija-delivery': deliveryId, 'x-ouija-signature': signature });
}

test('the same delivery sent 5 times concurrently: one transition, one agent run', async () => {
  const c = await h.newCard('Deduplicate me', 'One agent only.');
  const body = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'in-progress' });
  const responses = await Promise.all(Array.from({ length: 5 }, () => post(body, 'dup-delivery-1')));
  for (const r of responses) expect([200, 202]).toContain(r.status);

  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');
  expect(review.run).toBe(1);
  expect(review.deliveries.filter((d) => d === 'dup-delivery-1')).toHaveLength(1);
  expect(await listAgentRuns(h.database.db, { cardKey: c.cardKey })).toHaveLength(1);
  expect((await getDelivery(h.database.db, { source: 'builtin', deliveryId: 'dup-delivery-1' }))?.status).toBe('accepted');

  let agentActivities = 0;
  const history = await h.ouija.temporal.workflow.getHandle(c.workflowId).fetchHistory();
  for (const event of history.events ?? []) {
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent') agentActivities++;
  }
  expect(agentActivities).toBe(1);

  // A late retry of the same delivery, after it was accepted, is a duplicate: no signal, no change.
  const late = await post(body, 'dup-delivery-1');
  expect(late.status).toBe(202);
  expect(late.body.status).toBe('duplicate');
});

test('two moves of the same card racing through the API: one wins, the other gets a clear conflict', async () => {
  const c = await h.newCard('Race me');
  const [a, b] = await Promise.all([
    h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'review', expectedVersion: c.version }),
    h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'done', expectedVersion: c.version }),
  ]);
  const statuses = [a.status, b.status].sort();
  expect(statuses).toEqual([200, 409]);
  const loser = a.status === 409 ? a : b;
  const winner = a.status === 200 ? a : b;
  expect(loser.body.error).toMatch(/version/i);
  expect(loser.body.currentVersion).toBe(c.version + 1);
  const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
  expect(card.version).toBe(c.version + 1);
  expect(card.columnKey).toBe(winner.body.card.columnKey);
});

test('bad input: wrong signature 401, malformed 400, oversized 413 — each logged with its delivery ID', async () => {
  const c = await h.newCard('Guarded');
  const body = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'in-progress' });
  expect((await post(body, 'forged-1', 'sha256=' + '0'.repeat(64))).status).toBe(401);
  expect((await post(body, 'forged-2', 'sha256=short')).status).toBe(401);
  expect((await post('{not json', 'malformed-1')).status).toBe(400);
  expect((await post(JSON.stringify({ type: 'card.moved' }), 'malformed-2')).status).toBe(400);
  const huge = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'x'.repeat(64 * 1024) });
  expect((await post(huge, 'huge-1')).status).toBe(413);
  const unknownCard = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: 'nope', column: 'in-progress' });
  const ignored = await post(unknownCard, 'unknown-1');
  expect(ignored.status).toBe(202);
  expect(ignored.body.status).toBe('ignored');

  const rejections = await listRejections(h.database.db, { source: 'builtin' });
  const byDelivery = Object.fromEntries(rejections.map((r) => [r.deliveryId, r.httpStatus]));
  expect(byDelivery).toMatchObject({ 'forged-1': 401, 'forged-2': 401, 'malformed-1': 400, 'malformed-2': 400, 'huge-1': 413 });
  expect(await listAgentRuns(h.database.db, { cardKey: c.cardKey })).toHaveLength(0);
});
