/**
 * `npm run reliability`: the fault-injection and bad-input scenarios against the real parts — a
 * Temporal dev server, a Postgres server, git and the demo agent, started as the integration tests start them
 * (or taken from TEMPORAL_ADDRESS / OUIJA_TEST_DATABASE_URL). Each scenario gets a fresh Ouija (own namespace,
 * database and remote). Prints a table and writes reliability-report.json; exits non-zero if any row fails.
 *
 *   npm run reliability -- [--only bad-input,retry-storm] [--quick] [--cases id,id] [--storm-deliveries 1000] [--storm-copies 10]
 *     [--storm-forged N] [--storm-replayed N] [--storm-max-delay-ms 500] [--writers 8] [--moves 250]
 *     [--max-body-bytes 26214400] [--set name=value ...] [--report reliability-report.json]
 */
import './quiet-logs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import globalSetup, { stopAll } from '../support/global-setup';
import { startHarness } from '../support/ouija-harness';
import { printTable, writeReport, type Row } from './report';
import { badInput } from './scenarios/bad-input';
import { clusterRestart } from './scenarios/cluster-restart';
import { contextBleed } from './scenarios/context-bleed';
import { hostLost } from './scenarios/host-lost';
import { hungAgent } from './scenarios/hung-agent';
import { lostUpdates } from './scenarios/lost-updates';
import { order } from './scenarios/order';
import { payloadSizes } from './scenarios/payload-sizes';
import { postgresDown } from './scenarios/postgres-down';
import { retryStorm } from './scenarios/retry-storm';
import { serverRestart } from './scenarios/server-restart';
import { slowHealthy } from './scenarios/slow-healthy';
import { workerKill } from './scenarios/worker-kill';
import { RELIABILITY_SECRETS, type Params, type Scenario } from './scenarios/scenario';

const SCENARIOS: Scenario[] = [badInput, retryStorm, payloadSizes, order, lostUpdates, slowHealthy, hungAgent, postgresDown, workerKill, contextBleed, serverRestart, clusterRestart, hostLost];

function parseParams(): { params: Params; only: string[]; report: string } {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      cases: { type: 'string' },
      'storm-deliveries': { type: 'string', default: '1000' },
      'storm-copies': { type: 'string', default: '10' },
      'storm-forged': { type: 'string' },
      'storm-replayed': { type: 'string' },
      'storm-max-delay-ms': { type: 'string', default: '500' },
      writers: { type: 'string', default: '8' },
      moves: { type: 'string', default: '250' },
      'max-body-bytes': { type: 'string', default: String(25 * 1024 * 1024) },
      report: { type: 'string', default: 'reliability-report.json' },
      // Sizes of the other scenarios: --set name=value (each scenario documents and defaults its own).
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const int = (name: string, value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  const deliveries = int('storm-deliveries', values['storm-deliveries']);
  const params: Params = {
    quick: values.quick ?? false,
    cases: values.cases ? values.cases.split(',').map((s) => s.trim()) : [],
    stormDeliveries: deliveries,
    stormCopies: int('storm-copies', values['storm-copies']),
    // The ratio: 200 forged and 50 replayed per 1,000 deliveries.
    stormForged: values['storm-forged'] === undefined ? Math.ceil(deliveries / 5) : int('storm-forged', values['storm-forged']),
    stormReplayed: values['storm-replayed'] === undefined ? Math.ceil(deliveries / 20) : int('storm-replayed', values['storm-replayed']),
    stormMaxDelayMs: int('storm-max-delay-ms', values['storm-max-delay-ms']),
    writers: int('writers', values.writers),
    movesPerWriter: int('moves', values.moves),
    maxBodyBytes: int('max-body-bytes', values['max-body-bytes']),
    sizes: parseSizes(values.set ?? []),
  };
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : SCENARIOS.map((s) => s.name);
  const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return { params, only, report: path.resolve(values.report ?? 'reliability-report.json') };
}

function parseSizes(pairs: string[]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(pair);
    if (!match) throw new Error(`--set expects name=<non-negative integer>, got "${pair}"`);
    sizes[match[1]!] = Number(match[2]);
  }
  return sizes;
}

async function runScenario(scenario: Scenario, params: Params): Promise<Row[]> {
  const started = Date.now();
  const overrides = scenario.overrides?.(params) ?? {};
  const harness = await startHarness({ ...overrides, secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin, githubWebhook: RELIABILITY_SECRETS.github } });
  try {
    return await scenario.run({ harness, params });
  } catch (err) {
    return [{ scenario: scenario.name, runs: 0, expected: 'completes', observed: `crashed: ${(err as Error).message}`, pass: false, details: String((err as Error).stack) }];
  } finally {
    await harness.stop();
    console.log(`[reliability] ${scenario.name} done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

async function main(): Promise<void> {
  const { params, only, report } = parseParams();
  const startedAt = new Date();
  await globalSetup();
  const rows: Row[] = [];
  try {
    for (const scenario of SCENARIOS.filter((s) => only.includes(s.name))) rows.push(...(await runScenario(scenario, params)));
  } finally {
    await stopAll(globalThis.__OUIJA_TEST_SERVICES__ ?? { stops: [] });
  }
  console.log('');
  printTable(rows);
  writeReport(report, rows, params, startedAt);
  console.log(`\n[reliability] ${rows.filter((r) => r.pass).length}/${rows.length} rows pass; report: ${report}`);
  process.exitCode = rows.every((r) => r.pass) ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
