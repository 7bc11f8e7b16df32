/**
 * Scenario 2, payload sizes: signed built-in deliveries from 0 B to the limit + 1 B (1 MiB + 1 and the limit
 * itself included). Every body within the limit that is an event is processed (a delivery-log row with its
 * size), smaller-than-an-event bodies are a logged 400, every body over the limit a logged 413; a request
 * with neither a delivery row nor a rejection row would be a silent drop.
 */
import { countRejections, getDelivery } from '../../../src/db';
import type { Row } from '../report';
import { RELIABILITY_SECRETS, type Scenario } from './scenario';
import { baseUrl, sendBuiltin } from './send';

const MiB = 1024 * 1024;

/** A signed-able event of exactly `size` bytes (padded with an extra field the schema drops), or null if too small. */
function eventOfSize(boardId: string, size: number): Buffer | null {
  const head = `{"type":"card.moved","boardId":"${boardId}","cardId":"ghost","column":"in-progress","pad":"`;
  const tail = '"}';
  if (size < head.length + tail.length) return null;
  return Buffer.from(head + 'x'.repeat(size - head.length - tail.length) + tail);
}

export const payloadSizes: Scenario = {
  name: 'payload-sizes',
  overrides: (params) => ({ webhooks: { maxBodyBytes: params.maxBodyBytes } }),
  async run({ harness: h, params }) {
    const limit = params.maxBodyBytes;
    const board = await h.newCard('sizes');
    const sizes = [...new Set([0, 1, 2, 50, 100, 1024, 100 * 1024, 100 * 1024 + 1, MiB, MiB + 1, 10 * MiB, limit - 1, limit, limit + 1, limit + MiB, 2 * limit])]
      .filter((s) => s >= 0)
      .sort((a, b) => a - b);
    const rows: Array<{ size: number; expected: string; observed: string; ok: boolean }> = [];
    for (const size of sizes) {
      const deliveryId = `size-${size}`;
      const event = eventOfSize(board.boardId, size);
      const body = event ?? Buffer.from('{'.repeat(size));
      const sent = await sendBuiltin(baseUrl(h), RELIABILITY_SECRETS.builtin, body, deliveryId);
      const delivery = await getDelivery(h.database.db, { source: 'builtin', deliveryId });
      const rejected413 = await countRejections(h.database.db, { source: 'builtin', deliveryId, httpStatus: 413 });
      const rejected400 = await countRejections(h.database.db, { source: 'builtin', deliveryId, httpStatus: 400 });
      let expected: string;
      let ok: boolean;
      if (size > limit) {
        expected = '413 logged';
        ok = rejected413 === 1 && delivery === undefined && (sent.status === 413 || sent.status === 'network-error');
      } else if (event) {
        expected = 'processed (2xx, logged with its size)';
        ok = (sent.status === 200 || sent.status === 202) && delivery?.bodyBytes === size;
      } else {
        expected = '400 logged (too small to be an event)';
        ok = sent.status === 400 && rejected400 === 1;
      }
      const observed = `${sent.status}${delivery ? `, delivery row ${delivery.status} ${delivery.bodyBytes} B` : ''}${rejected413 ? ', 413 row' : ''}${rejected400 ? ', 400 row' : ''}`;
      rows.push({ size, expected, observed, ok });
    }
    const silent = rows.filter((r) => !/row/.test(r.observed)).length;
    const wrong = rows.filter((r) => !r.ok);
    return [
      { scenario: '2 payload sizes', runs: rows.length, expected: `≤ ${limit} B processed, > limit a logged 413, 0 silent drops`, observed: wrong.length ? `${wrong.length} wrong: ${wrong.map((r) => `${r.size} B → ${r.observed}`).join('; ')}` : `${rows.length}/${rows.length} as expected, ${silent} silent drops`, pass: wrong.length === 0 && silent === 0, details: rows },
    ] satisfies Row[];
  },
};
