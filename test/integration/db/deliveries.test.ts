import {
  countRejections,
  getDelivery,
  listDeliveries,
  listRejections,
  markAccepted,
  markIgnored,
  recordDelivery,
  recordRejection,
} from '../../../src/db';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => test?.close());

const delivery = (deliveryId: string, source = 'github') => ({
  source,
  deliveryId,
  event: 'projects_v2_item.edited',
  cardKey: 'github:b1:c1',
  bodyBytes: 1234,
});

describe('webhook delivery log', () => {
  it('sees a delivery first exactly once when five identical requests race', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => recordDelivery(test.db, delivery('race-1'))));
    expect(results.filter((r) => r.firstSeen)).toHaveLength(1);
    expect(results.every((r) => r.status === 'received')).toBe(true);
    expect(await listDeliveries(test.db, { source: 'github' })).toEqual([
      expect.objectContaining({ deliveryId: 'race-1', status: 'received', cardKey: 'github:b1:c1', bodyBytes: 1234, acceptedAt: null }),
    ]);
  });

  it('tells a repeat that the first was accepted, keeping the first acceptance time', async () => {
    expect(await recordDelivery(test.db, delivery('acc-1'))).toEqual({ firstSeen: true, status: 'received' });
    expect(await markAccepted(test.db, { source: 'github', deliveryId: 'acc-1' })).toBe(true);
    expect(await recordDelivery(test.db, delivery('acc-1'))).toEqual({ firstSeen: false, status: 'accepted' });

    const accepted = (await getDelivery(test.db, { source: 'github', deliveryId: 'acc-1' }))!;
    expect(accepted.acceptedAt).toBeInstanceOf(Date);
    await markAccepted(test.db, { source: 'github', deliveryId: 'acc-1' });
    expect((await getDelivery(test.db, { source: 'github', deliveryId: 'acc-1' }))!.acceptedAt).toEqual(accepted.acceptedAt);

    expect(await markAccepted(test.db, { source: 'github', deliveryId: 'never-recorded' })).toBe(false);
  });

  it('records why a delivery was ignored', async () => {
    await recordDelivery(test.db, delivery('ign-1', 'linear'));
    expect(await markIgnored(test.db, { source: 'linear', deliveryId: 'ign-1', note: 'issue not on a watched board' })).toBe(true);
    expect(await getDelivery(test.db, { source: 'linear', deliveryId: 'ign-1' })).toMatchObject({
      status: 'ignored',
      note: 'issue not on a watched board',
    });
    expect(await recordDelivery(test.db, delivery('ign-1', 'linear'))).toEqual({ firstSeen: false, status: 'ignored' });
  });

  it('keys deliveries by source and ID: the same ID from another source is new', async () => {
    expect((await recordDelivery(test.db, delivery('shared-id', 'trello'))).firstSeen).toBe(true);
    expect((await recordDelivery(test.db, delivery('shared-id', 'builtin'))).firstSeen).toBe(true);
  });

  it('lists newest first, up to a limit', async () => {
    for (const id of ['l-1', 'l-2', 'l-3']) await recordDelivery(test.db, delivery(id, 'listing'));
    expect((await listDeliveries(test.db, { source: 'listing', limit: 2 })).map((d) => d.deliveryId)).toEqual(['l-3', 'l-2']);
  });
});

describe('webhook rejections', () => {
  it('records every rejection, repeats included, with or without a delivery ID', async () => {
    const rejection = { source: 'github', httpStatus: 401, reason: 'bad signature', bodyBytes: 50, remoteAddr: '10.0.0.9' };
    const first = await recordRejection(test.db, { ...rejection, deliveryId: 'rej-1' });
    const second = await recordRejection(test.db, { ...rejection, deliveryId: 'rej-1' });
    expect(second).toBeGreaterThan(first);
    await recordRejection(test.db, { source: 'github', deliveryId: null, httpStatus: 413, reason: 'body over 1 MB', bodyBytes: null, remoteAddr: null });

    expect(await countRejections(test.db, { source: 'github' })).toBe(3);
    expect(await countRejections(test.db, { deliveryId: 'rej-1' })).toBe(2);
    expect(await countRejections(test.db, { httpStatus: 413 })).toBe(1);
    expect(await countRejections(test.db, { source: 'linear' })).toBe(0);

    const listed = await listRejections(test.db, { source: 'github' });
    expect(listed.map((r) => r.httpStatus)).toEqual([413, 401, 401]);
    expect(listed[2]).toMatchObject({ deliveryId: 'rej-1', reason: 'bad signature', bodyBytes: 50, remoteAddr: '10.0.0.9' });
    expect(listed[0]!.createdAt).toBeInstanceOf(Date);
  });
});
