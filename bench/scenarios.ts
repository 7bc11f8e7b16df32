/**
 * The scenarios. Each runs the same workload on every implementation, interleaved where it measures latency
 * (so background noise on this shared machine falls on all of them alike), and returns raw samples in ms.
 */
import autocannon from 'autocannon';
import { pool } from '../test/reliability/scenarios/send';
import { deliver, type BenchImpl, type CardSpec, type Delivery, type SignedDelivery } from './impl/types';
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
      const d = await deliver(impl, card!, deliveryId());
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
      await deliver(impl, card!, deliveryId());
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
      const sent = await Promise.all(cards.map((c) => deliver(impl, c, deliveryId())));
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

/** Sends one delivery per card with at most `concurrency` in flight. */
async function fire(impl: BenchImpl, cards: string[], concurrency: number): Promise<void> {
  await pool(cards, concurrency, (card) => deliver(impl, card, deliveryId()));
}

export interface IngestOptions {
  /** Offered rates (req/s), tried in order until one breaks the bound. */
  rates: number[];
  stepSeconds: number;
  /** How often each delivery ID is sent (the copies are shuffled among the others). */
  copies: number;
  p99Ms: number;
}

/**
 * 4. Webhook ingest at a p99 bound, measured with autocannon: a ladder of offered rates, each step
 * `stepSeconds` of real signed deliveries (every delivery ID `copies` times, shuffled) that move instant-agent
 * cards into work. Stops at the first step whose p99 exceeds `p99Ms` or that got any non-2xx or connection
 * error; between steps it waits until the step's cards have published. Agent runs beyond one per card are
 * duplicates, counted from the timeline once the last step has settled.
 */
export async function ingest(impl: BenchImpl, timeline: Timeline, o: IngestOptions) {
  if (![...o.rates, o.stepSeconds, o.copies].every((n) => Number.isInteger(n) && n > 0)) throw new Error(`ingest: rates, step seconds and copies must be positive integers`);
  const steps: Array<Awaited<ReturnType<typeof ingestStep>>> = [];
  for (const rate of o.rates) {
    const step = await ingestStep(impl, rate, o);
    steps.push(step);
    if (!step.withinBound) break;
  }
  // A duplicate that slipped through may start its agent after the first run published: give it time to show.
  await new Promise((r) => setTimeout(r, 3000));
  const spans = timeline.spans(impl.name);
  const out = steps.map(({ cardKeys, ...step }) => {
    const agentRuns = spans.filter((s) => cardKeys.includes(s.card)).length;
    return { ...step, cards: cardKeys.length, agentRuns, duplicateAgentRuns: agentRuns - cardKeys.length };
  });
  const within = out.filter((s) => s.withinBound).at(-1);
  const broke = out.find((s) => !s.withinBound);
  const sum = (f: (s: (typeof out)[number]) => number) => out.reduce((n, s) => n + f(s), 0);
  return {
    p99BoundMs: o.p99Ms,
    /** The highest offered rate whose step stayed within the bound (null: not even the first). */
    maxRate: within ? { rate: within.rate, achievedPerSecond: within.autocannon.requests.average, p50Ms: within.autocannon.latency.p50, p99Ms: within.autocannon.latency.p99 } : null,
    /** The step that broke it (null: none did, so maxRate is only a lower bound). */
    brokeAt: broke ? { rate: broke.rate, achievedPerSecond: broke.autocannon.requests.average, p99Ms: broke.autocannon.latency.p99, non2xx: broke.autocannon.non2xx, errors: broke.autocannon.errors } : null,
    deliveries: sum((s) => s.deliveries),
    non2xx: sum((s) => s.autocannon.non2xx),
    errors: sum((s) => s.autocannon.errors),
    agentRuns: sum((s) => s.agentRuns),
    duplicateAgentRuns: sum((s) => s.duplicateAgentRuns),
    steps: out,
  };
}

/**
 * One rung of the ladder. autocannon's `overallRate` is a per-second budget split over the connections: each
 * connection sends its share back to back (the next request when the previous answer arrived) and then waits for
 * the next second, so each second starts with a burst of `connections` requests at once. The step opens about
 * `rate × p99Ms / 1000` connections (Little's law at the bound; more would only widen the bursts): a server that
 * answers within the bound can take the whole offered rate; a slower one falls behind (achieved < offered) and
 * its p99 shows it. The step lasts whole seconds (at least stepSeconds) and sends a whole number of cards ×
 * copies; the connections divide the rate and so the deliveries: autocannon splits both `overallRate` and
 * `amount` over them, and uneven shares would leave some connections sending alone in an extra second.
 * Each request is the next delivery of the shuffled list (`setupRequest` runs once per request sent, `amount` =
 * the list's length); its answer marks the card accepted (`context` lives per connection, one request at a time).
 * autocannon's coordinated-omission correction is off: in v9 it assumes an interval of ceil(1 / per-connection
 * rate) = 1 ms and adds a made-up sample for every ms of each answer's latency (a lower p50, a p99 near the max).
 */
async function ingestStep(impl: BenchImpl, rate: number, o: IngestOptions) {
  let seconds = o.stepSeconds;
  while ((rate * seconds) % o.copies !== 0) seconds++;
  const cardKeys = await impl.newCards(Array.from({ length: (rate * seconds) / o.copies }, () => single(0)));
  const list = cardKeys.flatMap((card) => {
    const delivery = impl.signedDelivery(card, deliveryId());
    return Array.from({ length: o.copies }, () => ({ card, delivery }));
  });
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  const accepted = new Set<string>();
  let next = 0;
  const connections = connectionsFor(rate, o.p99Ms);
  const result = await autocannon({
    url: list[0]!.delivery.url,
    connections,
    overallRate: rate,
    amount: list.length,
    ignoreCoordinatedOmission: true,
    requests: [{
      setupRequest: (request, context) => {
        const item = list[next++];
        if (!item) throw new Error(`autocannon asked for more than the ${list.length} deliveries of this step`);
        (context as { card?: string }).card = item.card;
        return { ...request, method: 'POST', path: requestPath(item.delivery), headers: item.delivery.headers, body: item.delivery.body };
      },
      onResponse: (status, _body, context) => {
        const card = (context as { card?: string }).card;
        if (status >= 200 && status <= 299 && card) accepted.add(card);
      },
    }],
  });
  // The next step starts from a quiet system: every card that got a 2xx has published.
  const waitStarted = Date.now();
  await impl.published([...accepted]);
  return {
    rate,
    seconds,
    connections,
    cardKeys,
    deliveries: list.length,
    withinBound: result.latency.p99 <= o.p99Ms && result.non2xx === 0 && result.errors === 0,
    cardsAccepted: accepted.size,
    publishWaitMs: Date.now() - waitStarted,
    autocannon: result,
  };
}

/** The divisor of `rate` nearest to the concurrency that carries `rate` at `boundMs` per answer (ties: the larger). */
function connectionsFor(rate: number, boundMs: number): number {
  const target = (rate * boundMs) / 1000;
  const divisors = Array.from({ length: rate }, (_, i) => i + 1).filter((d) => rate % d === 0);
  return divisors.reduce((best, d) => (Math.abs(d - target) <= Math.abs(best - target) ? d : best));
}

function requestPath(d: SignedDelivery): string {
  const url = new URL(d.url);
  return `${url.pathname}${url.search}`;
}

/** How many of the times (ms since the start) fall in each minute: [minute 1, minute 2, ...]. */
function perMinute(msSinceStart: number[]): number[] {
  const out: number[] = [];
  for (const ms of msSinceStart) {
    const minute = Math.floor(ms / 60_000);
    while (out.length <= minute) out.push(0);
    out[minute]! += 1;
  }
  return out;
}

/** 5. N cards in flight at once with instant agents: completion time and memory. */
export async function scale(impl: BenchImpl, timeline: Timeline, n: number, concurrency: number, pids: { temporal: number | null; redis: number }) {
  const keys = await impl.newCards(Array.from({ length: n }, () => single(0)));
  const rssAtStart = process.memoryUsage().rss;
  let peakRss = rssAtStart;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  const ours = new Set(keys);
  // Once a minute: how many agents have started, and Ouija's workflow-worker counters (where a slowdown comes from).
  const progress: Array<{ atS: number; agentsStarted: number; cpuSeconds: ReturnType<typeof cpu>; workflowWorker?: Record<string, number> }> = [];
  const probe = async () => {
    const workflowWorker = await impl.workflowWorkerCounters?.().catch(() => undefined);
    const sample = { atS: Math.round((Date.now() - started) / 1000), agentsStarted: timeline.spans(impl.name).filter((span) => ours.has(span.card)).length, cpuSeconds: cpu(), ...(workflowWorker ? { workflowWorker } : {}) };
    progress.push(sample);
    // Also on stderr: a run that times out still shows how far it got and how fast.
    console.error(`[bench] 5 ${impl.name} +${sample.atS} s: ${sample.agentsStarted}/${n} agents started${workflowWorker ? ` ${JSON.stringify(workflowWorker)}` : ''}`);
  };
  const prober = setInterval(() => void probe(), 60_000);
  // CPU while this implementation runs alone: the bench process (its workers, webhook server and probes),
  // the Temporal server, Redis and Postgres (postmaster, live backends and the ones that exited).
  const pgPort = Number(new URL(process.env.OUIJA_TEST_DATABASE_URL ?? 'postgres://x:1/').port);
  const postgresCpu = () => postgresPids(pgPort).reduce((sum, pid, i) => sum + (cpuSeconds(pid, i === 0) ?? 0), 0);
  const cpu = () => ({ bench: process.cpuUsage(), temporal: cpuSeconds(pids.temporal), redis: cpuSeconds(pids.redis), postgres: postgresCpu() });
  const cpuBefore = cpu();
  const started = Date.now();
  await probe();
  try {
    await fire(impl, keys, concurrency);
    // 30 minutes, or 0.6 s per card beyond that (5,000 cards: 50 minutes).
    const done = await impl.published(keys, Math.max(30 * 60_000, n * 600));
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
      completedPerMinute: perMinute([...done.values()].map((t) => t - started)),
      progress,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(prober);
  }
}
