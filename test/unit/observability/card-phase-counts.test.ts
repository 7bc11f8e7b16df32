/** Cards-by-phase counts are queried once per TTL however often /metrics is scraped. */
import type { Client } from '@temporalio/client';
import { cachedPhaseCounts, phaseQuery } from '../../../src/http/card-phase-counts';
import { ALL_PHASES } from '../../../src/metrics';

function fakeTemporal(fail = false) {
  const queries: string[] = [];
  const client = {
    workflow: {
      count: async (query: string) => {
        queries.push(query);
        if (fail) throw new Error('visibility unavailable');
        return { count: query.endsWith(`'review'`) ? 2 : 0, groups: [] };
      },
    },
  } as unknown as Client;
  return { client, queries };
}

test('one count per phase, reused until the TTL has passed', async () => {
  const { client, queries } = fakeTemporal();
  let clock = 0;
  const counts = cachedPhaseCounts(client, 5_000, () => clock);
  const first = await counts();
  expect(first.get('review')).toBe(2);
  expect(first.get('working')).toBe(0);
  expect(queries).toHaveLength(ALL_PHASES.length);
  expect(queries).toContain(phaseQuery('review'));

  clock = 4_999;
  await Promise.all([counts(), counts()]);
  expect(queries).toHaveLength(ALL_PHASES.length);
  clock = 5_000;
  await counts();
  expect(queries).toHaveLength(2 * ALL_PHASES.length);
});

test('a failed refresh rejects and is not retried before the TTL', async () => {
  const { client, queries } = fakeTemporal(true);
  const counts = cachedPhaseCounts(client, 5_000, () => 0);
  await expect(counts()).rejects.toThrow('visibility unavailable');
  await expect(counts()).rejects.toThrow('visibility unavailable');
  expect(queries).toHaveLength(ALL_PHASES.length);
});

test('the query names the workflow type, running status and phase', () => {
  expect(phaseQuery('review')).toBe(`WorkflowType = 'cardWorkflow' AND ExecutionStatus = 'Running' AND OuijaPhase = 'review'`);
});
