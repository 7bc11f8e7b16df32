/**
 * Postgres failing between signal-with-start and "accepted" in the delivery log (reliability scenario 9 hit
 * this by chance): the sender must get a 503, not a 2xx, since a row left 'received' would let a replay start
 * a closed card's workflow again. The sender's retry is signalled again, dropped by the workflow, and marks
 * the row accepted: one transition, one agent run.
 */
import { UpdateQueryNode, type KyselyPlugin } from 'kysely';
import { getDelivery, listAgentRuns } from '../../../src/db';
import { ingest, ServiceUnavailableError } from '../../../src/ingest';
import { builtinInbound, signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** Every UPDATE fails as a lost connection would (in ingest, the only UPDATE is "mark accepted"). */
const updatesFail: KyselyPlugin = {
  transformQuery(args) {
    if (UpdateQueryNode.is(args.node)) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    return args.node;
  },
  transformResult: async (args) => args.result,
};

test('mark-accepted failing after the signal: 503, and the retry is accepted without a second transition', async () => {
  const c = await h.newCard('Outage between signal and log');
  const deliveryId = 'outage-after-signal-1';
  const body = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'in-progress' });
  const event = await builtinInbound(h.database.db, JSON.parse(body), deliveryId, body.length);

  await expect(ingest({ ...h.ouija.ingest, db: h.ouija.ingest.db.withPlugin(updatesFail) }, event)).rejects.toBeInstanceOf(ServiceUnavailableError);
  // Temporal did get it; the log does not say accepted.
  await h.waitFor(c.cardKey, (s) => s.deliveries.includes(deliveryId), 'the delivery in the workflow');
  expect((await getDelivery(h.database.db, { source: 'builtin', deliveryId }))?.status).toBe('received');

  // The sender retries (as told by the 503) once Postgres is back.
  const retry = await h.api('POST', '/webhooks/builtin', body, { 'content-type': 'application/json', 'x-ouija-delivery': deliveryId, 'x-ouija-signature': signBuiltinBody(WEBHOOK_SECRET, body) });
  expect(retry.status).toBe(200);
  expect(retry.body.status).toBe('accepted');
  expect((await getDelivery(h.database.db, { source: 'builtin', deliveryId }))?.status).toBe('accepted');

  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');
  expect(review.run).toBe(1);
  expect(review.deliveries.filter((d) => d === deliveryId)).toHaveLength(1);
  expect(await listAgentRuns(h.database.db, { cardKey: c.cardKey })).toHaveLength(1);
});
