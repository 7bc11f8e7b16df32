/**
 * The reconciler on the built-in board: a card moved without its event (a lost webhook) is started by the
 * next pass and reaches review; repeated passes over the same board state signal nothing again (delivery
 * log); cards in step are left alone; a failing source is skipped; the loop never overlaps its passes.
 */
import { getDelivery, listAgentRuns, listDeliveries, moveCard } from '../../../src/db';
import { builtinBoardSnapshot, reconcileDeliveryId, reconcileOnce, startReconciler, type BoardSnapshot, type PassSummary } from '../../../src/reconcile';
import { eventually } from '../../support/eventually';
import { startHarness, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  // A long interval: the wired-in loop stays out of the way and each test runs its passes itself.
  h = await startHarness({ reconcileIntervalMs: 3_600_000 });
});
afterAll(async () => {
  await h?.stop();
});

/** One pass over the built-in board, as the wired-in reconciler runs it. */
const pass = (): Promise<PassSummary> => h.ouija.reconcilers[0]!.runNow();
const reconcileDeliveries = async (cardKey: string) => (await listDeliveries(h.database.db, { source: 'reconcile', limit: 1000 })).filter((d) => d.cardKey === cardKey);

test('Ouija starts a reconciler for the built-in board with the HTTP front end', () => {
  expect(h.ouija.reconcilers).toHaveLength(1);
});

test('a card moved to in-progress with no event is started by the next pass, reaches review, and is not signalled again', async () => {
  const c = await h.newCard('Lost webhook', 'Nobody told Ouija about this move.');
  const moved = await moveCard(h.database.db, { cardId: c.cardId, toColumn: 'in-progress', expectedVersion: c.version });
  const deliveryId = reconcileDeliveryId(c.cardKey, 'working', `v${moved.version}`);

  const first = await pass();
  expect(first.signalled).toBeGreaterThanOrEqual(1);
  expect((await getDelivery(h.database.db, { source: 'reconcile', deliveryId }))?.status).toBe('accepted');
  // Straight away, while the workflow may still be idle: the same board state is a duplicate, not a second signal.
  await pass();

  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');
  expect(review.run).toBe(1);
  expect(review.deliveries.filter((d) => d === deliveryId)).toHaveLength(1);
  expect(await listAgentRuns(h.database.db, { cardKey: c.cardKey })).toHaveLength(1);
  // The workflow moved the card to review itself; a later pass finds it in step.
  await eventually(() => h.api('GET', `/api/cards/${c.cardId}`), (r) => r.body.columnKey === 'review');
  await pass();
  expect((await reconcileDeliveries(c.cardKey)).map((d) => d.deliveryId)).toEqual([deliveryId]);
  expect((await h.state(c.cardKey)).deliveries.filter((d) => d.startsWith('reconcile:'))).toEqual([deliveryId]);
});

test('a card whose workflow is in step is not signalled', async () => {
  const c = await h.newCard('Told properly');
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  expect(moved.body.dispatch.status).toBe('accepted');
  await pass(); // running, mid-run
  await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');
  await pass(); // running, in review
  expect(await reconcileDeliveries(c.cardKey)).toEqual([]);
  expect((await h.state(c.cardKey)).run).toBe(1);
});

test('a run that ended while its card stayed in the working column is not restarted', async () => {
  const c = await h.newCard('Cancelled by an operator');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  await h.waitFor(c.cardKey, (s) => s.phase !== 'idle', 'a started run');
  await h.ouija.temporal.workflow.getHandle(c.workflowId).terminate('test: the run ends, the card stays put');
  await pass();
  expect(await reconcileDeliveries(c.cardKey)).toEqual([]);
});

test('a card in review without a workflow is delivered once, and ingest records it as having nothing to act on', async () => {
  const c = await h.newCard('Put in review by hand');
  const moved = await moveCard(h.database.db, { cardId: c.cardId, toColumn: 'review', expectedVersion: c.version });
  await pass();
  const second = await reconcileOnce(h.ouija.ingest, [onlyCard(c.cardKey)]);
  expect(second).toEqual({ checked: 1, signalled: 0, unchanged: 1, errors: 0 });
  const rows = await reconcileDeliveries(c.cardKey);
  expect(rows.map((d) => [d.deliveryId, d.status])).toEqual([[reconcileDeliveryId(c.cardKey, 'review', `v${moved.version}`), 'ignored']]);
});

test('a failing source is logged and skipped; the others are still checked', async () => {
  const c = await h.newCard('Checked despite a broken neighbour');
  await moveCard(h.database.db, { cardId: c.cardId, toColumn: 'review', expectedVersion: c.version });
  const broken: BoardSnapshot = { source: 'broken', list: () => Promise.reject(new Error('board API down')) };
  const summary = await reconcileOnce(h.ouija.ingest, [broken, onlyCard(c.cardKey)]);
  expect(summary).toMatchObject({ checked: 1, errors: 1 });
  expect(await reconcileDeliveries(c.cardKey)).toHaveLength(1);
});

test('the loop runs passes on its own, never two at once, and stops', async () => {
  let active = 0;
  let maxActive = 0;
  let passes = 0;
  const slow: BoardSnapshot = {
    source: 'slow',
    async list() {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 150));
      active--;
      passes++;
      return [];
    },
  };
  const reconciler = startReconciler({ deps: h.ouija.ingest, sources: [slow], intervalMs: 50 });
  const manual = [reconciler.runNow(), reconciler.runNow()];
  await eventually(async () => passes, (n) => n >= 3, 10_000, 20);
  await Promise.all(manual);
  await reconciler.stop();
  const stoppedAt = passes;
  await new Promise((r) => setTimeout(r, 300));
  expect(passes).toBeGreaterThanOrEqual(3);
  expect(maxActive).toBe(1);
  expect(passes).toBe(stoppedAt);
});

/** The built-in board narrowed to one card, so a test's counts do not depend on the other tests' cards. */
function onlyCard(cardKey: string): BoardSnapshot {
  const all = builtinBoardSnapshot(h.ouija.db);
  return { source: all.source, list: async () => (await all.list()).filter((e) => e.card.key === cardKey) };
}
