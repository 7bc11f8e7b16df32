/**
 * GET /metrics on a whole Ouija: Ouija's own metrics (deliveries, agent run durations, cards by phase) and
 * the Temporal SDK's, in one Prometheus exposition.
 */
import { signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';
import { eventually } from '../../support/eventually';
import { hostQueue } from '../../../workflows/messages';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the Prometheus text format (enough of it for these checks). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels` (undefined if none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

async function scrape(): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(`${h.ouija.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parse(text), contentType: res.headers.get('content-type') };
}


test('a card run to review shows in deliveries, agent durations, cards by phase and the SDK metrics', async () => {
  const c = await h.newCard('Measure me', 'Count this run.');
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  expect(moved.body.dispatch.status).toBe('accepted');
  await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');

  // Visibility is eventually consistent and counts are cached for a few seconds: poll until it shows.
  const { text, samples, contentType } = await eventually(scrape, (m) => (value(m.samples, 'ouija_cards', { phase: 'review' }) ?? 0) >= 1);
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(value(samples, 'ouija_cards', { phase: 'review' })).toBeGreaterThanOrEqual(1);
  // Every phase has a series, so a dashboard sees zeros rather than gaps.
  for (const phase of ['preparing', 'working', 'publishing', 'revising', 'idle', 'done', 'failed', 'cancelled']) {
    expect(value(samples, 'ouija_cards', { phase })).toBeGreaterThanOrEqual(0);
  }

  expect(value(samples, 'ouija_deliveries_total', { source: 'builtin', outcome: 'accepted' })).toBeGreaterThanOrEqual(1);
  expect(value(samples, 'ouija_agent_run_duration_seconds_count', { agent: 'demo', step: 'implement', outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
  expect(value(samples, 'ouija_coordination_overhead_seconds_count', { ended: 'review' })).toBeGreaterThanOrEqual(1);
  expect(value(samples, 'ouija_agent_run_duration_seconds_sum', { agent: 'demo', step: 'implement', outcome: 'succeeded' })).toBeGreaterThan(0);
  expect(value(samples, 'ouija_git_command_duration_seconds_count', { command: 'worktree add', ok: 'true' })).toBeGreaterThanOrEqual(1);
  expect(value(samples, 'ouija_agent_activity_phase_seconds_count', { phase: 'commit_and_inspect' })).toBeGreaterThanOrEqual(1);

  // The SDK's own metrics, appended from its loopback exporter.
  expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
  expect(value(samples, 'temporal_activity_execution_latency_count', { activity_type: 'runAgent', task_queue: hostQueue(h.ouija.hostId!, 'agents'), namespace: h.config.temporal.namespace })).toBeGreaterThanOrEqual(1);

  // One exposition: no metric family is declared twice (Prometheus would reject the scrape).
  const families = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  expect(new Set(families).size).toBe(families.length);
});

test('a webhook with a bad signature increments the rejected counter', async () => {
  const rejected = async () => value((await scrape()).samples, 'ouija_deliveries_total', { source: 'builtin', outcome: 'rejected_401' }) ?? 0;
  const before = await rejected();
  const c = await h.newCard('Forge me');
  const body = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: c.cardId, column: 'in-progress' });
  const res = await h.api('POST', '/webhooks/builtin', body, {
    'content-type': 'application/json',
    'x-ouija-delivery': 'metrics-forged-1',
    'x-ouija-signature': signBuiltinBody('not-the-secret', body),
  });
  expect(res.status).toBe(401);
  expect(await rejected()).toBe(before + 1);

  // A correctly signed delivery about a card the board does not have is answered 202 and counted as ignored.
  const ignored = async () => value((await scrape()).samples, 'ouija_deliveries_total', { source: 'builtin', outcome: 'ignored' }) ?? 0;
  const ignoredBefore = await ignored();
  const unknown = JSON.stringify({ type: 'card.moved', boardId: c.boardId, cardId: 'no-such-card', column: 'in-progress' });
  const res2 = await h.api('POST', '/webhooks/builtin', unknown, {
    'content-type': 'application/json',
    'x-ouija-delivery': 'metrics-unknown-1',
    'x-ouija-signature': signBuiltinBody(WEBHOOK_SECRET, unknown),
  });
  expect(res2.status).toBe(202);
  expect(await ignored()).toBe(ignoredBefore + 1);
});
