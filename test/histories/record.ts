/**
 * Records the histories in this folder from REAL runs: a real Temporal dev server and Postgres (started as the
 * jest globalSetup starts them, unless TEMPORAL_ADDRESS / OUIJA_TEST_DATABASE_URL name running ones), the
 * real workers and the demo agent, driven through the test harness exactly as the lifecycle tests drive it.
 *
 *   npx tsx test/histories/record.ts [--tag <tag>] [--force] [scenario...]
 *
 * Writes `<scenario>[.<tag>].json` (and `….run<k>.json` for the later runs of a continue-as-new chain) in the
 * proto3 JSON export format. It refuses to overwrite a history unless --force: saved histories are what
 * earlier versions of the workflow wrote, and the replay test exists to keep them replaying (docs/VERSIONING.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { CardState, Phase } from '../../src/core/types';
import type { DeepPartial, OuijaConfig } from '../../src/config';
import { moveCard } from '../../src/db';
import { ingest } from '../../src/ingest';
import { log } from '../../src/log';
import { builtinInbound } from '../../src/plugins/kanban/builtin';
import { formatHistoryJson } from '../../src/temporal/history-json';
import { limiterWorkflowId } from '../../workflows/messages';
import { startOuija, type RunningOuija } from '../../workers/all-in-one';
import globalSetup, { stopAll } from '../support/global-setup';
import { startHarness, workersOf, type Harness } from '../support/ouija-harness';
import { startWorkerProcess, stopKillableWorker } from '../reliability/support/killable-process';

type History = temporal.api.history.v1.IHistory;

interface Scenario {
  name: string;
  /** Which Ouija configuration it runs under (scenarios sharing one run one after another on one Ouija). */
  setup: keyof typeof SETUPS;
  /** Drives one card through the scenario; returns its workflow ID. */
  run(h: Harness): Promise<string>;
  /** Checks the recorded runs (oldest first) really show what the scenario claims. */
  check?(runs: History[]): void;
  /** Limiter workflows (workflows/limiter.ts) whose last run is saved too, as `limiter-<scenario>[.<tag>].json`. */
  limiter?: { id: string; check(history: History): void };
}

const SETUPS = {
  // A short heartbeat timeout so the crash scenario's retry comes within seconds.
  default: { agent: { heartbeatTimeoutMs: 3_000, maxAttempts: 2 } },
  pipeline: { pipeline: ['plan', 'implement', 'test'] },
  parallel: { pipeline: ['plan', { parallel: ['implement', 'docs', 'tests'], onFailure: 'best-effort' }, 'review'], agent: { maxConcurrent: 4 } },
  // One card of a board in review at a time: the second waits in queued for the first's slot.
  limits: { review: { maxCards: 1 } },
  // A host that takes none of its tasks for 3 s is lost (the agent's heartbeat timeout notices its death first).
  moves: { agent: { heartbeatTimeoutMs: 3_000 }, activities: { heartbeatTimeoutMs: 3_000 }, workers: { hostLostAfterMs: 3_000 } },
} satisfies Record<string, DeepPartial<OuijaConfig>>;

const SCENARIOS: Scenario[] = [
  {
    name: 'happy-path',
    setup: 'default',
    async run(h) {
      const c = await h.newCard('Add a greeting', 'Say hello to the team.');
      await move(h, c.cardId, 'in-progress');
      await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review');
      await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'alice' });
      await finalPhase(h, c.workflowId, 'done');
      return c.workflowId;
    },
  },
  {
    name: 'revision',
    setup: 'default',
    async run(h) {
      const c = await h.newCard('Write a haiku', 'About durable workflows.');
      await move(h, c.cardId, 'in-progress');
      await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'first review');
      await call(h, 'POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'Please also mention the weather.' }] });
      await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');
      await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'bob' });
      await finalPhase(h, c.workflowId, 'done');
      return c.workflowId;
    },
    check: (runs) => expectCount(runs, 'runAgent', 2),
  },
  {
    name: 'cancel-mid-agent',
    setup: 'default',
    async run(h) {
      const c = await h.newCard('A long task', 'ouija-demo: sleep=120000 heartbeat=200');
      await move(h, c.cardId, 'in-progress');
      await agentHeartbeating(h, c.workflowId);
      await move(h, c.cardId, 'backlog');
      await finalPhase(h, c.workflowId, 'cancelled');
      return c.workflowId;
    },
    check: (runs) => expectEvent(runs, 'activityTaskCancelRequestedEventAttributes'),
  },
  {
    name: 'agent-failure',
    setup: 'default',
    async run(h) {
      const c = await h.newCard('Doomed', 'ouija-demo: exit=3');
      await move(h, c.cardId, 'in-progress');
      await finalPhase(h, c.workflowId, 'failed');
      return c.workflowId;
    },
    check: (runs) => expectEvent(runs, 'activityTaskFailedEventAttributes'),
  },
  {
    name: 'continue-as-new',
    setup: 'default',
    async run(h) {
      const c = await h.newCard('A long-lived card', 'Lives through a continue-as-new.');
      // The config has no knob for this (production keeps the default): start the card with small settings.
      const version = (await call(h, 'GET', `/api/cards/${c.cardId}`)).version as number;
      await moveCard(h.ouija.db, { cardId: c.cardId, toColumn: 'in-progress', expectedVersion: version });
      const event = { type: 'card.moved' as const, boardId: c.boardId, cardId: c.cardId, column: 'in-progress' };
      const inbound = await builtinInbound(h.ouija.db, event, `record-can-${c.cardId}`, 0);
      const deps = { ...h.ouija.ingest, cardSettings: { ...h.ouija.ingest.cardSettings, continueAsNewAfterEvents: 20 } };
      const outcome = await ingest(deps, inbound);
      if (outcome.status !== 'accepted') throw new Error(`ingest: ${JSON.stringify(outcome)}`);
      const handle = h.ouija.temporal.workflow.getHandle(c.workflowId);
      const firstRunId = (await handle.describe()).runId;
      await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review');
      // Approve only once the run in review has continued as new, so the approval lands in the new run.
      await until(async () => (await handle.describe()).runId !== firstRunId, 'continue-as-new');
      await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'carol' });
      await finalPhase(h, c.workflowId, 'done');
      return c.workflowId;
    },
    check(runs) {
      if (runs.length < 2) throw new Error(`expected a continue-as-new chain, got ${runs.length} run(s)`);
      expectEvent(runs.slice(0, 1), 'workflowExecutionContinuedAsNewEventAttributes');
    },
  },
  {
    name: 'worker-crash-retry',
    setup: 'default',
    run: crashScenario,
    check(runs) {
      const started = events(runs).find((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
      if (!started) throw new Error('expected an activity retried after the crash (attempt > 1)');
    },
  },
  {
    name: 'pipeline',
    setup: 'pipeline',
    async run(h) {
      const c = await h.newCard('Plan, build, test', 'Three steps.');
      await move(h, c.cardId, 'in-progress');
      await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review', 180_000);
      await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'dave' });
      await finalPhase(h, c.workflowId, 'done');
      return c.workflowId;
    },
    check: (runs) => expectCount(runs, 'runAgent', 3),
  },
  {
    // A best-effort parallel group with one failing step, then a revision that runs the group again.
    name: 'parallel-group',
    setup: 'parallel',
    async run(h) {
      const c = await h.newCard('Fan out', 'ouija-demo: per-step exit@docs=3 sleep@tests=1000');
      await move(h, c.cardId, 'in-progress');
      await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review', 180_000);
      await call(h, 'POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'More tests.' }] });
      await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review', 180_000);
      await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'dave' });
      await finalPhase(h, c.workflowId, 'done');
      return c.workflowId;
    },
    check(runs) {
      expectCount(runs, 'prepareGroup', 2);
      expectCount(runs, 'mergeGroup', 2);
    },
  },
  {
    // Two cards of one board, one review slot: the second card's run waits in queued until the first is approved.
    name: 'review-limit',
    setup: 'limits',
    async run(h) {
      const board = await call(h, 'POST', '/api/boards', { id: 'limited', name: 'One review at a time', repo: h.remote });
      const first = await call(h, 'POST', `/api/boards/${board.id}/cards`, { title: 'First', body: '' });
      const second = await call(h, 'POST', `/api/boards/${board.id}/cards`, { title: 'Second', body: '' });
      const key = (card: { id: string }) => `builtin:${board.id}:${card.id}`;
      await move(h, first.id, 'in-progress');
      await h.waitFor(key(first), (s) => s.phase === 'review', 'the first card in review');
      await move(h, second.id, 'in-progress');
      await h.waitFor(key(second), (s) => s.phase === 'queued' && s.inFlight?.kind === 'slot' && s.inFlight.pool === 'review', 'the second card queued for review');
      await call(h, 'POST', `/api/cards/${first.id}/approve`, { by: 'frank' });
      await h.waitFor(key(second), (s) => s.phase === 'review', 'the second card in review');
      await call(h, 'POST', `/api/cards/${second.id}/approve`, { by: 'frank' });
      await finalPhase(h, `card:${key(second)}`, 'done');
      return `card:${key(second)}`;
    },
    check(runs) {
      const granted = events(runs).filter((e) => e.workflowExecutionSignaledEventAttributes?.input?.payloads?.some((p) => Buffer.from(p.data ?? []).toString().includes('slot.granted')));
      if (granted.length !== 2) throw new Error(`expected an agent and a review slot granted, got ${granted.length} grants`);
    },
    // The board's review limiter: two asks, the second waiting until the first slot came back.
    limiter: {
      id: limiterWorkflowId('review:builtin:limited'),
      check(history) {
        const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
        const grants = (history.events ?? []).filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes).length;
        if (signals.filter((n) => n === 'acquire').length !== 2 || signals.filter((n) => n === 'release').length !== 2 || grants !== 2) {
          throw new Error(`expected 2 acquires, 2 releases and 2 grants in the review limiter, got ${JSON.stringify(signals)} and ${grants} grants`);
        }
      },
    },
  },
  {
    // The host holding the worktree is SIGKILLed mid-agent and never comes back: the card moves to another host.
    name: 'host-moved',
    setup: 'moves',
    async run(h) {
      // The card's first host is a process of its own (the one killed); the harness's own host takes no part.
      const own = [...workersOf(h, 'agents'), ...workersOf(h, 'git')];
      for (const w of own) w.shutdown();
      await until(async () => own.every((w) => w.getState() === 'STOPPED'), 'the harness workspace workers to stop');
      const doomed = await startWorkerProcess({ ...h.config, dataDir: path.join(h.workDir, 'doomed-host') }, ['agents', 'git'], temporalAddress());
      let replacement: RunningOuija | undefined;
      try {
        const c = await h.newCard('Survive a lost host', 'ouija-demo: sleep=6000 heartbeat=200');
        await move(h, c.cardId, 'in-progress');
        await agentHeartbeating(h, c.workflowId);
        doomed.proc.kill('SIGKILL');
        await doomed.exited;
        replacement = await startOuija({ config: { ...h.config, dataDir: path.join(h.workDir, 'second-host') }, temporalAddress: temporalAddress(), queues: ['agents', 'git'], log });
        await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.moves === 1, 'review on the second host', 120_000);
        await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'grace' });
        await finalPhase(h, c.workflowId, 'done');
        return c.workflowId;
      } finally {
        await replacement?.stop();
        await stopKillableWorker(doomed);
      }
    },
    check(runs) {
      const timedOut = events(runs).some((e) => e.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
      if (!timedOut) throw new Error('expected an activity timed out on schedule-to-start (the lost host)');
      const moved = events(runs).some((e) => e.activityTaskScheduledEventAttributes?.activityId === 'r1/prepare/0/m1');
      if (!moved) throw new Error('expected the prepare of the move (r1/prepare/0/m1)');
    },
  },
];

/**
 * The agent's worker process is killed (SIGKILL: no goodbye to Temporal) while the agent runs; another
 * worker starts, and Temporal retries the step there once the heartbeat timeout notices the silence.
 */
async function crashScenario(h: Harness): Promise<string> {
  // Only the doomed process may pick up the first attempt: stop this Ouija's own agents worker first.
  const own = workersOf(h, 'agents');
  if (own.length === 0) throw new Error('the harness runs no agents worker');
  for (const w of own) w.shutdown();
  await until(async () => own.every((w) => w.getState() === 'STOPPED'), 'the harness agents workers to stop');

  const doomed = await startAgentWorkerProcess(h.config);
  let replacement: RunningOuija | undefined;
  try {
    const c = await h.newCard('Survive a crash', 'ouija-demo: sleep=6000 heartbeat=500');
    await move(h, c.cardId, 'in-progress');
    await agentHeartbeating(h, c.workflowId);
    doomed.kill('SIGKILL');
    await new Promise((resolve) => (doomed.exitCode !== null || doomed.signalCode !== null ? resolve(null) : doomed.once('exit', resolve)));
    replacement = await startOuija({ config: h.config, temporalAddress: temporalAddress(), queues: ['agents'], log });
    await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review after the retry', 120_000);
    await call(h, 'POST', `/api/cards/${c.cardId}/approve`, { by: 'erin' });
    await finalPhase(h, c.workflowId, 'done');
    return c.workflowId;
  } finally {
    await replacement?.stop();
    if (doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
  }
}

/** test/histories/agent-worker.ts in a process of its own (tsx's loader in-process, so a SIGKILL hits the worker). */
async function startAgentWorkerProcess(config: OuijaConfig): Promise<ChildProcess> {
  const script = path.join(__dirname, 'agent-worker.ts');
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, script], {
    env: { ...process.env, OUIJA_RECORDER_CONFIG: JSON.stringify({ ...config, secrets: {} }), OUIJA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`agent worker process exited (${code ?? signal}) before it was ready`)));
  });
  return child;
}

// ---------------------------------------------------------------------------------------------
// Driving cards.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(h: Harness, method: string, route: string, body?: unknown): Promise<any> {
  const res = await h.api(method, route, body);
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function move(h: Harness, cardId: string, column: string): Promise<void> {
  const card = await call(h, 'GET', `/api/cards/${cardId}`);
  const moved = await call(h, 'POST', `/api/cards/${cardId}/move`, { column, expectedVersion: card.version });
  if (moved.dispatch?.status !== 'accepted') throw new Error(`move to ${column}: ${JSON.stringify(moved.dispatch)}`);
}

async function finalPhase(h: Harness, workflowId: string, phase: Phase): Promise<void> {
  const final: CardState = await h.ouija.temporal.workflow.getHandle(workflowId).result();
  if (final.phase !== phase) throw new Error(`${workflowId} ended ${final.phase}, expected ${phase}`);
}

/** Until the agent activity has started and heartbeated: the agent process is really running. */
async function agentHeartbeating(h: Harness, workflowId: string): Promise<void> {
  const handle = h.ouija.temporal.workflow.getHandle(workflowId);
  await until(async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    return pending.some((a) => a.activityType?.name === 'runAgent' && a.lastHeartbeatTime);
  }, 'the agent to heartbeat');
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set');
  return address;
}

// ---------------------------------------------------------------------------------------------
// Fetching, checking and saving histories.

/** Every run of the workflow's continue-as-new chain, oldest first (each run names the one it continued). */
async function runChain(h: Harness, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await h.ouija.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    if (!runId) return runs;
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const events = (runs: History[]): HistoryEvent[] => runs.flatMap((r) => r.events ?? []);

function expectEvent(runs: History[], attributes: keyof HistoryEvent): void {
  if (!events(runs).some((e) => e[attributes])) throw new Error(`expected an event with ${attributes}`);
}

function expectCount(runs: History[], activityType: string, n: number): void {
  const count = events(runs).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).length;
  if (count !== n) throw new Error(`expected ${n} ${activityType} activities, got ${count}`);
}

function fileName(scenario: string, tag: string | undefined, run: number): string {
  return `${[scenario, tag, run > 1 ? `run${run}` : undefined].filter(Boolean).join('.')}.json`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { tag: { type: 'string' }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (values.tag !== undefined && !/^[a-z0-9-]+$/.test(values.tag)) throw new Error('--tag: use [a-z0-9-]');
  const unknown = positionals.filter((p) => !SCENARIOS.some((s) => s.name === p));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const chosen = SCENARIOS.filter((s) => positionals.length === 0 || positionals.includes(s.name));
  const existing = chosen.map((s) => path.join(__dirname, fileName(s.name, values.tag, 1))).filter((f) => fs.existsSync(f));
  if (existing.length && !values.force) {
    throw new Error(`refusing to overwrite ${existing.map((f) => path.basename(f)).join(', ')}: use --tag for new recordings, --force to replace`);
  }

  log.level = process.env.OUIJA_LOG_LEVEL ?? 'warn';
  process.env.TEMPORAL_LOG_LEVEL ??= 'ERROR';
  await globalSetup();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-record-'));
  try {
    // Bundle the workflow code once for every Ouija the recorder starts (the harness picks this up).
    const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
    process.env.OUIJA_TEST_WORKFLOW_BUNDLE = path.join(scratch, 'workflows.js');
    fs.writeFileSync(process.env.OUIJA_TEST_WORKFLOW_BUNDLE, bundle.code);

    for (const setup of Object.keys(SETUPS) as Array<keyof typeof SETUPS>) {
      const scenarios = chosen.filter((s) => s.setup === setup);
      if (scenarios.length === 0) continue;
      const h = await startHarness(SETUPS[setup]);
      try {
        for (const scenario of scenarios) {
          const started = Date.now();
          const workflowId = await scenario.run(h);
          const runs = await runChain(h, workflowId);
          scenario.check?.(runs);
          runs.forEach((history, i) => {
            const file = path.join(__dirname, fileName(scenario.name, values.tag, i + 1));
            fs.writeFileSync(file, `${formatHistoryJson(history)}\n`);
            console.log(`${path.relative(process.cwd(), file)}: ${history.events?.length ?? 0} events (${Date.now() - started} ms)`);
          });
          if (scenario.limiter) {
            const handle = h.ouija.temporal.workflow.getHandle(scenario.limiter.id);
            await handle.result(); // a limiter ends once nothing is held or waiting
            const history = await handle.fetchHistory();
            scenario.limiter.check(history);
            const file = path.join(__dirname, fileName(`limiter-${scenario.name}`, values.tag, 1));
            fs.writeFileSync(file, `${formatHistoryJson(history)}\n`);
            console.log(`${path.relative(process.cwd(), file)}: ${history.events?.length ?? 0} events`);
          }
        }
      } finally {
        await h.stop();
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    if (globalThis.__OUIJA_TEST_SERVICES__) await stopAll(globalThis.__OUIJA_TEST_SERVICES__);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
