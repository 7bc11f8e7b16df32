/** Orchestrates one bench run: services, implementations, scenarios, the table and the JSON result file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { log } from '../src/log';
import { installRuntime } from '../workers/queues';
import { startBareTemporal } from './impl/bare-temporal';
import { startBullmq } from './impl/bullmq';
import { startOuijaBench } from './impl/ouija';
import type { BenchImpl } from './impl/types';
import { replay } from './replay';
import { dispatch, ingest, meanOf, parallelGroup, scale, stepOverhead } from './scenarios';
import { describe, ouijaBreakdown, resetOuijaMetrics } from './ouija-metrics';
import { startServices } from './services';
import { ratio, summarize, table, type Summary } from './stats';
import { Timeline } from './timeline';

const DEFAULTS = {
  dispatchSamples: 20,
  stepCards: 5,
  stepSleepMs: 500,
  parallelRounds: 3,
  parallelSleepsMs: '3000,3500,4000',
  /** Scenario 4's ladder of offered rates (req/s), each step this many seconds, until p99 exceeds the bound. */
  ingestRates: '10,25,50,100,200,400,800',
  ingestStepSeconds: 5,
  ingestP99Ms: 250,
  ingestCopies: 10,
  /** 1: Ouija's agents and git queues in a worker process of their own (`ouija worker -q agents git`), as deployed. */
  ouijaWorkersApart: 0,
  scaleCards: 100,
  scaleConcurrency: 20,
  /** Comma-separated subset of the implementations scenario 5 runs. */
  scaleImpls: 'ouija,bare-temporal,bullmq',
  /** Ouija's `workers.maxCachedWorkflows`; 0: the SDK's default (about 600 per GiB of heap). */
  ouijaMaxCachedWorkflows: 0,
  replayHistories: 1000,
  agentConcurrency: 8,
  /** Comma-separated subset of 1..6. */
  scenarios: '1,2,3,4,5,6',
  /** The Temporal server Ouija and bare Temporal run on: `dev` (the dev server) or `cluster` (the real server on Postgres). */
  temporal: 'dev',
};
type Options = typeof DEFAULTS;

function parseArgs(argv: string[]): Options {
  const options: Options = { ...DEFAULTS };
  for (const arg of argv) {
    const m = /^--([a-zA-Z]+)=(.*)$/.exec(arg);
    if (!m || !(m[1]! in DEFAULTS)) throw new Error(`unknown argument ${arg}; known: ${Object.keys(DEFAULTS).map((k) => `--${k}=`).join(' ')}`);
    const key = m[1] as keyof Options;
    (options as Record<string, unknown>)[key] = typeof DEFAULTS[key] === 'number' ? Number(m[2]) : m[2];
  }
  return options;
}

const IMPLS = ['ouija', 'bare-temporal', 'bullmq'] as const;
type Row = { scenario: string; metric: string; values: Partial<Record<(typeof IMPLS)[number], number>> };

export async function main(argv: string[]): Promise<void> {
  const options = parseArgs(argv);
  if (options.temporal !== 'dev' && options.temporal !== 'cluster') throw new Error(`--temporal=dev or --temporal=cluster, not ${options.temporal}`);
  const scenarios = new Set(options.scenarios.split(',').map(Number));
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  const say = (msg: string) => console.error(`[bench] ${msg}`);
  say(`machine ${JSON.stringify(machine)}`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-bench-run-'));
  const timeline = new Timeline(path.join(workDir, 'timeline.ndjson'));
  // Ouija's SDK runtime (logs into its JSON log), installed before the bare-Temporal worker would install the default one.
  installRuntime(log);
  say(`Temporal: ${options.temporal === 'cluster' ? 'the real server on Postgres (npm run cluster)' : 'the dev server'}${process.env.TEMPORAL_ADDRESS ? ` (TEMPORAL_ADDRESS ${process.env.TEMPORAL_ADDRESS})` : ''}`);
  const services = await startServices(options.temporal);
  // Interrupted: stop the servers we started (their exit hooks run on process exit) instead of orphaning them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void services.stop().finally(() => process.exit(130)));
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  const latencyRows = (scenario: string, unit: string, samples: Partial<Record<string, number[]>>) => {
    const s = Object.fromEntries(IMPLS.map((i) => [i, summarize(samples[i] ?? [])])) as Record<string, Summary | null>;
    for (const p of ['p50', 'p95', 'p99'] as const) {
      rows.push({ scenario, metric: `${p} ${unit}`, values: Object.fromEntries(IMPLS.map((i) => [i, s[i]?.[p]])) });
    }
    return s;
  };
  const stack: BenchImpl[] = [];
  try {
    say('bundling workflows/ for Ouija');
    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
    const bundlePath = path.join(workDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    const common = { timeline: timeline.file, agentConcurrency: options.agentConcurrency };
    const ouijaCommon = { ...common, address: services.temporalAddress, workflowBundlePath: bundlePath, workersApart: options.ouijaWorkersApart === 1, maxCachedWorkflows: options.ouijaMaxCachedWorkflows || undefined };
    // Apart, the git and agent-phase histograms live in the worker process: the per-card breakdown is empty.
    if (ouijaCommon.workersApart) say('ouija: agents and git queues in a worker process of their own');
    const bare = await startBareTemporal({ address: services.temporalAddress, ...common });
    stack.push(bare);
    const bull = await startBullmq({ redisPort: services.redisPort, ...common });
    stack.push(bull);

    if ([1, 4, 5].some((n) => scenarios.has(n))) {
      const ouija = await startOuijaBench({ ...ouijaCommon, pipeline: ['implement'] });
      stack.push(ouija);
      const all = [ouija, bare, bull];
      if (scenarios.has(1)) {
        say(`1 dispatch latency, ${options.dispatchSamples} cards per implementation`);
        resetOuijaMetrics();
        const r = await dispatch(all, timeline, options.dispatchSamples);
        const ouijaTime = await ouijaBreakdown();
        say(`1 ouija git per card: ${describe(ouijaTime.git, options.dispatchSamples)}`);
        say(`1 ouija agent activity phases per card: ${describe(ouijaTime.agentPhases, options.dispatchSamples)}`);
        results.dispatch = { ...r, ouijaTime, summary: latencyRows('1 dispatch', 'ms', Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.latencyMs]))), breakdownMean: meanOf(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.breakdown]))) };
      }
      if (scenarios.has(4)) {
        const o = { rates: options.ingestRates.split(',').map(Number), stepSeconds: options.ingestStepSeconds, copies: options.ingestCopies, p99Ms: options.ingestP99Ms };
        say(`4 ingest with autocannon: offered ${o.rates.join('/')} req/s, ${o.stepSeconds} s each, every delivery ×${o.copies}, until p99 > ${o.p99Ms} ms or a non-2xx`);
        const r: Record<string, Awaited<ReturnType<typeof ingest>>> = {};
        for (const impl of all) {
          const v = (r[impl.name] = await ingest(impl, timeline, o));
          for (const s of v.steps) {
            const a = s.autocannon;
            say(`4 ${impl.name} ${s.rate}/s × ${s.seconds} s (${s.connections} connections): achieved ${a.requests.average}/s, p50 ${a.latency.p50} p99 ${a.latency.p99} max ${a.latency.max} ms, non-2xx ${a.non2xx}, errors ${a.errors}, ${s.cards} cards, ${s.duplicateAgentRuns} duplicate runs, publish wait ${s.publishWaitMs} ms`);
          }
          say(`4 ${impl.name}: max rate within the bound ${v.maxRate?.rate ?? 'none'}; ${v.brokeAt ? `broken at ${v.brokeAt.rate}/s (p99 ${v.brokeAt.p99Ms} ms, non-2xx ${v.brokeAt.non2xx}, errors ${v.brokeAt.errors})` : 'no step broke it (a lower bound)'}`);
        }
        results.ingest = r;
        const bound = `p99 ≤ ${o.p99Ms} ms`;
        rows.push({ scenario: '4 ingest', metric: `max rate at ${bound} (req/s)`, values: pick(r, (v) => v.maxRate?.rate ?? 0) });
        rows.push({ scenario: '4 ingest', metric: 'p99 ms at that rate', values: pick(r, (v) => v.maxRate?.p99Ms) });
        rows.push({ scenario: '4 ingest', metric: 'duplicate agent runs', values: pick(r, (v) => v.duplicateAgentRuns) });
        rows.push({ scenario: '4 ingest', metric: 'non-2xx answers', values: pick(r, (v) => v.non2xx) });
      }
      if (scenarios.has(5)) {
        say(`5 scale: ${options.scaleCards} cards in flight`);
        const r: Record<string, Awaited<ReturnType<typeof scale>>> = {};
        const pids = { temporal: services.temporalPid, redis: services.redisPid };
        resetOuijaMetrics();
        const chosen = options.scaleImpls.split(',');
        for (const impl of all.filter((i) => chosen.includes(i.name))) r[impl.name] = await scale(impl, timeline, options.scaleCards, options.scaleConcurrency, pids);
        const ouijaTime = await ouijaBreakdown();
        say(`5 ouija git per card: ${describe(ouijaTime.git, options.scaleCards)}`);
        results.scale = { ...r, ouijaTime };
        rows.push({ scenario: `5 scale N=${options.scaleCards}`, metric: 'completion ms', values: pick(r, (v) => v.completionMs) });
        rows.push({ scenario: `5 scale N=${options.scaleCards}`, metric: 'bench process peak RSS MiB', values: pick(r, (v) => v.benchProcessPeakRssMiB) });
        rows.push({ scenario: `5 scale N=${options.scaleCards}`, metric: 'CPU s (bench process)', values: pick(r, (v) => v.cpuSeconds.benchProcess) });
        rows.push({ scenario: `5 scale N=${options.scaleCards}`, metric: 'CPU s (Temporal+PG+Redis)', values: pick(r, (v) => Math.round(((v.cpuSeconds.temporalServer ?? 0) + (v.cpuSeconds.postgres ?? 0) + (v.cpuSeconds.redis ?? 0)) * 10) / 10) });
      }
      await ouija.stop();
      stack.splice(stack.indexOf(ouija), 1);
    }
    if (scenarios.has(3)) {
      // One card whose pipeline is a single 3-way parallel group (Ouija's `{ parallel: [...] }` entry).
      const sleeps = options.parallelSleepsMs.split(',').map(Number);
      const group = sleeps.map((_, i) => `agent-${i + 1}`);
      const ouija = await startOuijaBench({ ...ouijaCommon, pipeline: [{ parallel: group, onFailure: 'fail-fast' }] });
      stack.push(ouija);
      say(`3 parallel group of ${sleeps.length} agents (${sleeps.join('/')} ms), ${options.parallelRounds} rounds`);
      resetOuijaMetrics();
      const r = await parallelGroup([ouija, bare, bull], timeline, options.parallelRounds, sleeps);
      const ouijaTime = await ouijaBreakdown();
      say(`3 ouija git per card: ${describe(ouijaTime.git, options.parallelRounds)}`);
      say(`3 ouija agent activity phases per card: ${describe(ouijaTime.agentPhases, options.parallelRounds)}`);
      results.parallelGroup = { ...r, ouijaTime };
      latencyRows('3 parallel overhead', 'ms', Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.overheadMs])));
      latencyRows('3 parallel end-to-end', 'ms', Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.endToEndMs])));
      await ouija.stop();
      stack.splice(stack.indexOf(ouija), 1);
    }
    if (scenarios.has(2)) {
      const ouija = await startOuijaBench({ ...ouijaCommon, pipeline: ['plan', 'implement', 'test'] });
      stack.push(ouija);
      say(`2 step overhead: ${options.stepCards} cards × 3 steps of ${options.stepSleepMs} ms`);
      resetOuijaMetrics();
      const r = await stepOverhead([ouija, bare, bull], timeline, options.stepCards, options.stepSleepMs);
      const ouijaTime = await ouijaBreakdown();
      say(`2 ouija git per card (3 steps): ${describe(ouijaTime.git, options.stepCards)}`);
      say(`2 ouija agent activity phases per card (3 steps): ${describe(ouijaTime.agentPhases, options.stepCards)}`);
      results.stepOverhead = { ...r, ouijaTime, summary: latencyRows('2 step overhead', 'ms', r.samples) };
      await ouija.stop();
      stack.splice(stack.indexOf(ouija), 1);
    }
    if (scenarios.has(6)) {
      say(`6 replay of ${options.replayHistories} saved histories`);
      const r = await replay(options.replayHistories, bundle.code);
      results.replay = r;
      rows.push({ scenario: `6 replay ×${r.histories}`, metric: `total ms (${r.failures} failed)`, values: { ouija: r.elapsedMs } });
    }
  } finally {
    for (const impl of stack.reverse()) await impl.stop().catch((err: unknown) => say(`stopping ${impl.name}: ${String(err)}`));
    await services.stop();
  }

  const printed = table(
    ['scenario', 'metric', ...IMPLS, 'ouija÷bare', 'ouija÷bullmq'],
    rows.map((r) => [`${r.scenario}${options.temporal === 'cluster' ? ' (cluster)' : ''}`, r.metric, ...IMPLS.map((i) => (r.values[i] === undefined ? '-' : String(r.values[i]))), ratio(r.values.ouija, r.values['bare-temporal']), ratio(r.values.ouija, r.values.bullmq)]),
  );
  console.log(printed);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(__dirname, 'results', `${stamp}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, options, rows, results }, null, 2)}\n`);
  console.log(`\nwritten ${path.relative(process.cwd(), file)}`);
  fs.rmSync(workDir, { recursive: true, force: true });
}

function pick<T>(r: Record<string, T>, f: (v: T) => number | undefined): Row['values'] {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f(v)]));
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
