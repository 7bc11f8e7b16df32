/**
 * The agents queue's cap (config agent.maxConcurrent → the worker's maxConcurrentActivityTaskExecutions):
 * with a cap of 1, three slow cards started together run their agents one after another, never two at once.
 */
import { listAgentRuns } from '../../../src/db';
import { startHarness, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: { maxConcurrent: 1 } });
});
afterAll(async () => h?.stop());

test('three slow cards with maxConcurrent 1: no two agent runs overlap', async () => {
  const cards = [];
  for (const title of ['First', 'Second', 'Third']) cards.push(await h.newCard(title, 'ouija-demo: sleep=1500 heartbeat=200'));
  await Promise.all(cards.map((c) => h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version })));
  await Promise.all(cards.map((c) => h.waitFor(c.cardKey, (s) => s.phase === 'review', `${c.cardKey} in review`)));

  const runs = (await listAgentRuns(h.database.db)).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  expect(runs.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(new Set(runs.map((r) => r.cardKey)).size).toBe(3);
  for (let i = 1; i < runs.length; i++) {
    // Each run started only after the one before it had ended (both times are the database's clock).
    expect(runs[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.endedAt!.getTime());
  }
});
