/**
 * The operator CLI against a running Ouija: `ouija runs` lists cards from visibility with their phase,
 * `ouija status` shows the live state and the pending agent activity, `ouija cancel` and `ouija retry` act
 * through the same ingestion path and signal as the board.
 */
import { listDeliveries } from '../../../src/db';
import { runCli } from '../../support/run-cli';
import { startHarness, type Harness } from '../../support/ouija-harness';

let h: Harness;
let env: Record<string, string>;
beforeAll(async () => {
  h = await startHarness();
  env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: h.config.temporal.namespace, OUIJA_URL: h.ouija.url! };
});
afterAll(async () => {
  await h?.stop();
});

test('runs, status, cancel and retry', async () => {
  const quick = await h.newCard('Quick one');
  await h.api('POST', `/api/cards/${quick.cardId}/move`, { column: 'in-progress', expectedVersion: quick.version });
  const slow = await h.newCard('Slow one', 'ouija-demo: sleep=120000\nouija-demo: heartbeat=200');
  await h.api('POST', `/api/cards/${slow.cardId}/move`, { column: 'in-progress', expectedVersion: slow.version });
  await h.waitFor(quick.cardKey, (s) => s.phase === 'review', 'quick card in review');
  await h.waitFor(slow.cardKey, (s) => s.phase === 'working', 'slow card working');

  // Visibility is eventually consistent: poll until both cards show their current phase.
  let runs: Array<{ card: string; phase: string; status: string }> = [];
  for (let i = 0; i < 50; i++) {
    const out = await runCli(['runs', '--json'], env);
    expect(out.code).toBe(0);
    runs = JSON.parse(out.stdout);
    const phases = Object.fromEntries(runs.map((r) => [r.card, r.phase]));
    if (phases[quick.cardKey] === 'review' && phases[slow.cardKey] === 'working') break;
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(runs.find((r) => r.card === quick.cardKey)).toMatchObject({ phase: 'review', status: 'RUNNING' });
  expect(runs.find((r) => r.card === slow.cardKey)).toMatchObject({ phase: 'working', status: 'RUNNING' });
  const inReview = JSON.parse((await runCli(['runs', '--phase', 'review', '--json'], env)).stdout) as Array<{ card: string }>;
  expect(inReview.map((r) => r.card)).toEqual([quick.cardKey]);
  const table = await runCli(['runs'], env);
  expect(table.stdout).toMatch(/^CARD\s+PHASE\s+STATUS/);
  expect(table.stdout).toContain(slow.cardKey);

  const status = JSON.parse((await runCli(['status', slow.cardKey, '--json'], env)).stdout);
  expect(status.state.phase).toBe('working');
  expect(status.pending).toHaveLength(1);
  expect(status.pending[0]).toMatchObject({ type: 'runAgent', activityId: 'r1/agent/implement/0', attempt: 1 });
  const text = await runCli(['status', `card:${slow.cardKey}`], env);
  expect(text.stdout).toContain('phase      working');

  const cancelled = await runCli(['cancel', slow.cardKey], env);
  expect(cancelled.stdout).toMatch(/^cancel: accepted/);
  await h.waitFor(slow.cardKey, (s) => s.phase === 'cancelled' && s.inFlight === null, 'slow card cancelled');

  const retried = await runCli(['retry', slow.cardKey], env);
  expect(retried.stdout).toMatch(/^retry: accepted/);
  // The cancelled run's workflow had ended, so the retry is a new execution of the same workflow ID.
  const again = await h.waitFor(slow.cardKey, (s) => s.phase === 'working' && s.deliveries.some((d) => d.startsWith('retry:')), 'slow card running again');
  expect(again.run).toBe(1);
  expect((await runCli(['cancel', slow.cardKey], env)).code).toBe(0);

  const operatorDeliveries = (await listDeliveries(h.database.db, { source: 'operator' })).map((d) => d.status);
  expect(operatorDeliveries.sort()).toEqual(['accepted', 'accepted', 'accepted']);
  const bad = await runCli(['status', 'not a card'], env);
  expect(bad.code).not.toBe(0);
});
