/**
 * The scenarios. Each runs the same workload on every implementation, interleaved where it measures latency
 * (so background noise on this shared machine falls on all of them alike), and returns raw samples in ms.
 */
import type { BenchImpl, CardSpec, Delivery } from './impl/types';
import { cpuSeconds, postgresPids, rssMiB } from './services';
import type { Timeline } from './timeline';

const single = (sleepMs: number): CardSpec => ({ steps: ['implement'], sleepsMs: [sleepMs], parallel: false });
let deliveries = 0;
const deliveryId = () => `bench-${process.pid}-${++deliveries}`;

/** 1. Webhook accepted (2xx received) → agent process started; one card at a time, instant agent. */
export async function dispatch(impls: BenchImpl[], timeline: Timeline, samples: number) {
  const out: Record<string, { latencyMs: number[]; breakdown: Array<Record<string, number>> }> = {};
  for (let i = 0; i < samples; i++) {
    for (const impl of impls) {
      const [card] = await impl.newCards([single(0)]);
      const d = await impl.deliver(card!, deliveryId());
      await impl.published([card!]);
      const span = timeline.spans(impl.name).find((s) => s.card === card)!;
      const entry = (out[impl.name] ??= { latencyMs: [], breakdown: [] });
      entry.latencyMs.push(span.start - d.acceptedAt);
      if (impl.activities) entry.breakdown.push(breakdown(await impl.activities(card!), d, span.start));
    }
  }
  return out;
}

/** Where a Temporal implementation's dispatch time went, from its history. */
function breakdown(acts: Awaited<ReturnType<NonNullable<BenchImpl['activities']>>>, d: Delivery, agentStart: number): Record<string, number> {
  const prepare = acts.find((a) => a.type === 'prepareWorkspace');
  const agent = acts.find((a) => a.type === 'runAgent');
  if (!prepare || !agent) return {};
  return {
    acceptedToPrepareScheduled: prepare.scheduled - d.acceptedAt,
    prepareScheduledToStarted: (prepare.started ?? NaN) - prepare.scheduled,
    prepareRunning: (prepare.closed ?? NaN) - (prepare.started ?? NaN),
    prepareClosedToAgentScheduled: agent.scheduled - (prepare.closed ?? NaN),
    agentScheduledToStarted: (agent.started ?? NaN) - agent.scheduled,
    agentActivityStartedToProcess: agentStart - (agent.started ?? NaN),
  };
}

/** 2. A 3-step sequential pipeline: one agent step ends → the next one starts. Ouija must run [plan, implement, test]. */
export async function stepOverhead(impls: BenchImpl[], timeline: Timeline, cards: number, sleepMs: number) {
  const spec: CardSpec = { steps: ['plan', 'implement', 'test'], sleepsMs: [sleepMs, sleepMs, sleepMs], parallel: false };
  const out: Record<string, number[]> = {};
  const breakdowns: Record<string, Array<Record<string, number>>> = {};
  for (let i = 0; i < cards; i++) {
    for (const impl of impls) {
      const [card] = await impl.newCards([spec]);
      await impl.deliver(card!, deliveryId());
      await impl.published([card!]);
      const spans = timeline.spans(impl.name).filter((s) => s.card === card);
      if (spans.length !== spec.steps.length) console.error(`[bench] ${impl.name} ${card}: ${spans.length} agent runs for ${spec.steps.length} steps: ${JSON.stringify(spans)}`);
      for (let k = 1; k < spans.length; k++) (out[impl.name] ??= []).push(spans[k]!.start - spans[k - 1]!.end!);
      if (!impl.activities || spans.length !== spec.steps.length) continue;
      const agents = (await impl.activities(card!)).filter((a) => a.type === 'runAgent');
      for (let k = 1; k < agents.length; k++) {
        const [before, after] = [agents[k - 1]!, agents[k]!];
        (breakdowns[impl.name] ??= []).push({
          processEndToActivityClosed: (before.closed ?? NaN) - spans[k - 1]!.end!,
          closedToNextScheduled: after.scheduled - (before.closed ?? NaN),
          scheduledToStarted: (after.started ?? NaN) - after.scheduled,
          activityStartedToProcess: spans[k]!.start - (after.started ?? NaN),
        });
      }
    }
  }
  return { samples: out, breakdownMean: meanOf(breakdowns) };
}

/** Field-wise means, rounded to ms. */
export function meanOf(r: Record<string, Array<Record<string, number>>>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(r).map(([impl, list]) => {
    const keys = Object.keys(list[0] ?? {});
    return [impl, Object.fromEntries(keys.map((k) => [k, Math.round(list.reduce((s, b) => s + (b[k] ?? 0), 0) / list.length)]))];
  }));
}

/**
 * 3. One card whose pipeline is a 3-way parallel group of agents sleeping `sleepsMs`: end-to-end (webhook
 * accepted → publish done) minus the slowest agent. Every implementation runs the group inside one card.
 */
export async function parallelGroup(impls: BenchImpl[], timeline: Timeline, rounds: number, sleepsMs: number[]) {
  const out: Record<string, { overheadMs: number[]; endToEndMs: number[]; slowestAgentMs: number[]; activities: string[][] }> = {};
  for (let r = 0; r < rounds; r++) {
    for (const impl of impls) {
      const cards = await impl.newCards([{ steps: sleepsMs.map((_, i) => `agent-${i + 1}`), sleepsMs, parallel: true }]);
      const sent = await Promise.all(cards.map((c) => impl.deliver(c, deliveryId())));
      const done = await impl.published(cards);
      const spans = timeline.spans(impl.name).filter((s) => cards.includes(s.card));
      const endToEnd = Math.max(...done.values()) - Math.min(...sent.map((d) => d.acceptedAt));
      const slowest = Math.max(...spans.map((s) => s.end! - s.start));
      const entry = (out[impl.name] ??= { overheadMs: [], endToEndMs: [], slowestAgentMs: [], activities: [] });
      entry.overheadMs.push(endToEnd - slowest);
      entry.endToEndMs.push(endToEnd);
      entry.slowestAgentMs.push(slowest);
      // Where the time went (Temporal implementations): each activity's scheduled/started/closed, ms after the webhook was accepted.
      if (impl.activities) {
        const t0 = Math.min(...sent.map((d) => d.acceptedAt));
        const rel = (t: number | null) => (t === null ? '-' : String(Math.round(t - t0)));
        entry.activities.push([
          ...(await impl.activities(cards[0]!)).map((a) => `${a.type} ${rel(a.scheduled)}/${rel(a.started)}/${rel(a.closed)}`),
          ...spans.map((s) => `process ${s.step} ${rel(s.start)}-${rel(s.end)}`),
        ]);
      }
    }
  }
  return out;
}

/** Sends deliveries with at most `concurrency` in flight; returns each one's result. */
async function fire(impl: BenchImpl, list: Array<[card: string, deliveryId: string]>, concurrency: number): Promise<Delivery[]> {
  const results: Delivery[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < list.length) {
      const [card, id] = list[next++]!;
      results.push(await impl.deliver(card, id));
    }
  }));
  return results;
}

/** 4. Webhook ingest with every delivery sent `copies` times (shuffled), instant agents: rate, latency, duplicate agent runs. */
export async function ingest(impl: BenchImpl, timeline: Timeline, cards: number, copies: number, concurrency: number) {
  const keys = await impl.newCards(Array.from({ length: cards }, () => single(0)));
  const list = keys.flatMap((card) => {
    const id = deliveryId();
    return Array.from({ length: copies }, () => [card, id] as [string, string]);
  });
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const started = Date.now();
  const results = await fire(impl, list, concurrency);
  const elapsedMs = Date.now() - started;
  await impl.published(keys);
  // A duplicate that slipped through may start its agent after the first run published: give it time to show.
  await new Promise((r) => setTimeout(r, 3000));
  const runs = timeline.spans(impl.name).filter((s) => keys.includes(s.card)).length;
  return {
    deliveries: list.length,
    perSecond: Math.round((list.length / elapsedMs) * 1000),
    latencyMs: results.map((r) => r.acceptedAt - r.sentAt),
    non2xx: results.filter((r) => r.status < 200 || r.status > 299).length,
    agentRuns: runs,
    duplicateAgentRuns: runs - cards,
  };
}

/** 5. N cards in flight at once with instant agents: completion time and memory. */
export async function scale(impl: BenchImpl, n: number, concurrency: number, pids: { temporal: number | null; redis: number }) {
  const keys = await impl.newCards(Array.from({ length: n }, () => single(0)));
  const rssAtStart = process.memoryUsage().rss;
  let peakRss = rssAtStart;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  // CPU while this implementation runs alone: the bench process (its workers, webhook server and probes),
  // the Temporal server, Redis and Postgres (postmaster, live backends and the ones that exited).
  const pgPort = Number(new URL(process.env.OUIJA_TEST_DATABASE_URL ?? 'postgres://x:1/').port);
  const postgresCpu = () => postgresPids(pgPort).reduce((sum, pid, i) => sum + (cpuSeconds(pid, i === 0) ?? 0), 0);
  const cpu = () => ({ bench: process.cpuUsage(), temporal: cpuSeconds(pids.temporal), redis: cpuSeconds(pids.redis), postgres: postgresCpu() });
  const cpuBefore = cpu();
  const started = Date.now();
  try {
    await fire(impl, keys.map((k) => [k, deliveryId()]), concurrency);
    const done = await impl.published(keys, 30 * 60_000);
    const completionMs = Math.max(...done.values()) - started;
    const cpuAfter = cpu();
    const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((b - a) * 10) / 10);
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    return {
      cards: n,
      completionMs,
      cardsPerSecond: Math.round((n / completionMs) * 1000 * 10) / 10,
      benchProcessPeakRssMiB: Math.round(peakRss / 2 ** 20),
      benchProcessRssGrowthMiB: Math.round((peakRss - rssAtStart) / 2 ** 20),
      cpuSeconds: {
        benchProcess: Math.round(((benchCpu.user + benchCpu.system) / 1e6) * 10) / 10,
        temporalServer: delta(cpuBefore.temporal, cpuAfter.temporal),
        redis: delta(cpuBefore.redis, cpuAfter.redis),
        postgres: delta(cpuBefore.postgres, cpuAfter.postgres),
      },
      temporalServerRssMiB: rssMiB(pids.temporal),
      redisRssMiB: rssMiB(pids.redis),
    };
  } finally {
    clearInterval(sampler);
  }
}
