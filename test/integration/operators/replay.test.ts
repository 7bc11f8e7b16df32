/**
 * Invariant 7: the workflow code replays every history that earlier versions wrote.
 *
 * 1. Every history saved in test/histories/ (recorded from real runs, see its README) replays with the current
 *    workflow code.
 * 2. A deliberately nondeterministic change, made to a COPY of the workflow code (a timer before the first
 *    trigger is handled), is caught by replay, which names the event where code and history part ways.
 * 3. The same change guarded by `patched()` replays the old histories AND a history recorded with the changed
 *    code; `deprecatePatch()` then replays the new history but no longer the old ones (docs/VERSIONING.md).
 *
 * The new history in 3 is recorded on a real worker against the real dev server, in a namespace of its own,
 * but with STUB activities (no git, no agent, no board): only the workflow code is under test there, and the
 * stubs return what the real activities would, so the workflow takes the same path as the happy-path card.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { workflowIdForCard } from '../../../src/core/cards';
import type { CardInfo, CardState, EffectResult } from '../../../src/core/types';
import type { LimiterActivities } from '../../../activities/types';
import { runReplay } from '../../../src/cli/replay';
import { ensureNamespace, waitForNamespace } from '../../../src/temporal/namespace';
import { historyFilesAt, loadHistories, loadHistoryFile, type LoadedHistory } from '../../../src/temporal/histories';
import { formatHistoryJson } from '../../../src/temporal/history-json';
import { divergenceOf, replayHistories, type WorkflowCode } from '../../../src/temporal/replay';
import { TASK_QUEUES, stateQuery, triggerSignal } from '../../../workflows/messages';

const ROOT = path.resolve(__dirname, '../../..');
const HISTORIES = path.join(ROOT, 'test/histories');
/** The lifecycle scenarios test/histories/record.ts records; each must have its history saved. */
const BEFORE_CLUSTER = ['happy-path', 'revision', 'cancel-mid-agent', 'agent-failure', 'worker-crash-retry', 'pipeline', 'continue-as-new', 'continue-as-new.run2', 'parallel-group'];
/** Every scenario before the `ouija-cluster-limits` patch and after it, the new paths, and a limiter's own history. */
const SCENARIOS = [
  ...BEFORE_CLUSTER,
  ...BEFORE_CLUSTER.map((name) => name.replace(/^([a-z-]+)/, '$1.cluster')),
  'review-limit.cluster',
  'host-moved.cluster',
  'limiter-review-limit.cluster',
];
const PATCH_ID = 'replay-test-debounce-start';
/** Where the change goes in workflows/card.ts: at the head of the trigger loop, after the first upsert. */
const LOOP = '\n  for (;;) {\n';

// The copies must live inside the repository so that they bundle against its node_modules.
const scratch = path.join(ROOT, 'test/.tmp', `replay-${process.pid}-${randomBytes(4).toString('hex')}`);
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
const savedSources = (): Promise<LoadedHistory[]> => collect(loadHistories(HISTORIES));
/** The saved card workflows' histories (the others are the limiters'; the changes below are to card.ts). */
const savedCardSources = async (): Promise<LoadedHistory[]> =>
  (await savedSources()).filter((s) => s.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'cardWorkflow');

/**
 * Copies workflows/ and every module it imports at run time (relative imports that are not `import type`),
 * keeping the layout, then rewrites the copy of card.ts; returns the bundled copy.
 */
async function changedWorkflowCode(name: string, change: string): Promise<WorkflowCode> {
  const dest = path.join(scratch, name);
  const seen = new Set<string>();
  const copy = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    const target = path.join(dest, path.relative(ROOT, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm)) {
      const base = path.resolve(path.dirname(file), m[1]!);
      copy([`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f)) ?? `${base}.ts`);
    }
  };
  copy(path.join(ROOT, 'workflows/index.ts'));

  const card = path.join(dest, 'workflows/card.ts');
  const source = fs.readFileSync(card, 'utf8');
  // Fail loudly if card.ts changed shape: a copy that silently stayed the same would prove nothing.
  expect(source.split(LOOP)).toHaveLength(2);
  const imports = "import { deprecatePatch as __deprecatePatch, patched as __patched, sleep as __sleep } from '@temporalio/workflow';\n";
  fs.writeFileSync(card, imports + source.replace(LOOP, `\n  ${change}${LOOP}`));
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(dest, 'workflows/index.ts'), logger: new DefaultLogger('WARN') });
  return { workflowBundle: { code } };
}

const UNGUARDED = "await __sleep('100 milliseconds');";
const GUARDED = `if (__patched('${PATCH_ID}')) await __sleep('100 milliseconds');`;
const DEPRECATED = `__deprecatePatch('${PATCH_ID}'); await __sleep('100 milliseconds');`;

let temporalAddress: string;
beforeAll(() => {
  temporalAddress = process.env.TEMPORAL_ADDRESS!;
  fs.mkdirSync(scratch, { recursive: true });
  try {
    // Quiet: the nondeterminism this file causes on purpose would fill the output with Core's warnings.
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // already installed in this process
  }
});
afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
  try {
    fs.rmdirSync(path.dirname(scratch)); // test/.tmp, unless another run still has its copies there
  } catch {
    /* not empty */
  }
});

test('every saved history replays with the current workflow code', async () => {
  const names = (await historyFilesAt(HISTORIES)).map((f) => path.basename(f, '.json'));
  expect(names).toEqual(expect.arrayContaining(SCENARIOS));

  const outcomes = await collect(replayHistories(await savedSources()));
  expect(outcomes).toHaveLength(names.length);
  expect(outcomes.filter((o) => o.failure)).toEqual([]);
});

test('an unguarded change (a new timer) fails replay of the saved histories, naming the diverging event', async () => {
  const broken = await changedWorkflowCode('unguarded', UNGUARDED);
  const sources = await savedCardSources();
  expect(sources.length).toBe(SCENARIOS.length - 1);
  const outcomes = await collect(replayHistories(sources, broken));
  expect(outcomes).toHaveLength(sources.length);
  for (const o of outcomes) expect(o.failure?.kind).toBe('nondeterminism');

  // In the happy path the first command after the upsert was scheduling prepareWorkspace: that event is named.
  const happy = outcomes.find((o) => o.origin.endsWith('happy-path.json'))!;
  const source = sources.find((s) => s.source === happy.origin)!;
  const firstActivity = source.history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
  expect(happy.failure!.divergence).toEqual({ eventId: Number(firstActivity.eventId), eventType: 'ActivityTaskScheduled' });
  expect(happy.failure!.reason).toMatch(/^\[TMPRL1100\] Nondeterminism error: Timer machine/);

  // Core names a changed activity ID by the ID, not the event: that event is looked up in the history.
  const reason = "[TMPRL1100] Nondeterminism error: Activity id of scheduled event 'r1/prepare/0' does not match activity id of activity command 'x'";
  expect(divergenceOf(reason, source.history)).toEqual({ eventId: Number(firstActivity.eventId), eventType: 'ActivityTaskScheduled' });
});

test('the change guarded by patched() replays old histories and one recorded with it; deprecatePatch() only the new one', async () => {
  const guarded = await changedWorkflowCode('patched', GUARDED);
  const old = await collect(replayHistories(await savedSources(), guarded));
  expect(old.filter((o) => o.failure)).toEqual([]);

  const startedAt = new Date(Date.now() - 1000);
  const recorded = await recordWithStubActivities(guarded);
  // The new history really took the patched branch: it carries the patch marker and the timer.
  const events = recorded.history.events ?? [];
  expect(events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toBe(true);
  expect(events.some((e) => e.timerStartedEventAttributes)).toBe(true);

  // Through the export format, as a history added to test/histories/ would be.
  const file = path.join(scratch, 'patched-happy-path.json');
  fs.writeFileSync(file, formatHistoryJson(recorded.history));
  const [fresh] = await collect(replayHistories([await loadHistoryFile(file)], guarded));
  expect(fresh!.failure).toBeNull();

  // Step two of the patch lifecycle: deprecatePatch() replays histories written with the patch…
  const deprecated = await changedWorkflowCode('deprecated', DEPRECATED);
  const [afterPatch] = await collect(replayHistories([await loadHistoryFile(file)], deprecated));
  expect(afterPatch!.failure).toBeNull();
  // …but no longer those written before it: it is safe only once no such run can still be replayed.
  const [beforePatch] = await collect(replayHistories([await loadHistoryFile(path.join(HISTORIES, 'happy-path.json'))], deprecated));
  expect(beforePatch!.failure?.kind).toBe('nondeterminism');

  // `ouija replay --all --since` finds the recorded run on the server and replays it (against the patched code).
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection, namespace: recorded.namespace });
    // Visibility is eventually consistent: wait until the run is listed.
    for (let i = 0; (await client.workflow.count(`WorkflowId = '${recorded.workflowId}'`)).count === 0; i++) {
      if (i > 100) throw new Error('the recorded run never showed up in visibility');
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines: string[] = [];
    const code = await runReplay([], { all: true, since: startedAt.toISOString() }, { out: (l) => lines.push(l), code: guarded, withClient: (fn) => fn(client) });
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok {6}${recorded.workflowId} run ${recorded.runId} \\(server\\)$`)));
    expect(lines.at(-1)).toBe('1 replayed, 0 failed');
    expect(code).toBe(0);

    // `ouija replay <card key>` fetches that card's runs.
    const byCard: string[] = [];
    const cardKey = recorded.workflowId.slice('card:'.length);
    expect(await runReplay([cardKey], {}, { out: (l) => byCard.push(l), code: guarded, withClient: (fn) => fn(client) })).toBe(0);
    expect(byCard).toEqual([`ok      ${recorded.workflowId} run ${recorded.runId} (server)`, '1 replayed, 0 failed']);
  } finally {
    await connection.close();
  }

  // And `ouija replay <dir>` with this build's code: the saved happy path passes; the patched-era history
  // fails at its patch marker (a rollback past a patch is a nondeterministic change too), and the exit code says so.
  const dir = path.join(scratch, 'cli');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(HISTORIES, 'happy-path.json'), path.join(dir, 'a-happy-path.json'));
  fs.copyFileSync(file, path.join(dir, 'b-patched.json'));
  const lines: string[] = [];
  const exit = await runReplay([dir], {}, { out: (l) => lines.push(l) });
  expect(exit).toBe(1);
  expect(lines[0]).toMatch(/^ok {6}card:builtin:b1:c1 run \S+ \(.*a-happy-path\.json\)$/);
  // The test's own patch marker (the workflow records its own patches too).
  const patchOf = (details: Record<string, { payloads?: unknown[] | null }> | null | undefined) =>
    fromPayloadsAtIndex<{ id?: string }>(defaultPayloadConverter, 0, details?.['patch-data']?.payloads as never)?.id;
  const marker = recorded.history.events!.find((e) => patchOf(e.markerRecordedEventAttributes?.details) === PATCH_ID)!;
  expect(lines[1]).toMatch(new RegExp(`^FAILED {2}\\S+ run \\S+ \\(.*b-patched\\.json\\): nondeterminism at event ${marker.eventId} MarkerRecorded: .*patch marker .*${PATCH_ID}`));
  expect(lines.at(-1)).toBe('2 replayed, 1 failed');
});

/**
 * Runs one card through review and approval on a real worker with `code`, in a namespace of its own, with
 * stub activities on Ouija's activity queues; returns the run's history.
 */
async function recordWithStubActivities(code: WorkflowCode) {
  const namespace = `ouija-replay-${process.env.JEST_WORKER_ID ?? '1'}`;
  const taskQueue = `replay-patched-${randomBytes(4).toString('hex')}`;
  const connection = await Connection.connect({ address: temporalAddress });
  const native = await NativeConnection.connect({ address: temporalAddress });
  try {
    await ensureNamespace(connection, namespace, 1);
    await waitForNamespace(connection, namespace);
    const base = { connection: native, namespace };
    const client = new Client({ connection, namespace });
    const workers = await Promise.all([
      Worker.create({ ...base, taskQueue, ...code, activities: alwaysGranting(client) }),
      Worker.create({ ...base, taskQueue: TASK_QUEUES.git, activities: stubActivities.git }),
      Worker.create({ ...base, taskQueue: TASK_QUEUES.agents, activities: stubActivities.agents }),
      Worker.create({ ...base, taskQueue: TASK_QUEUES.board, activities: stubActivities.board }),
      Worker.create({ ...base, taskQueue: TASK_QUEUES.notify, activities: stubActivities.notify }),
    ]);
    const running = workers.map((w) => w.run());
    try {
      const cardId = `c${randomBytes(4).toString('hex')}`;
      const card: CardInfo = { ref: { provider: 'builtin', boardId: 'replay', cardId }, key: `builtin:replay:${cardId}`, title: 'Patched', body: '', repo: '/srv/git/replay.git' };
      const workflowId = workflowIdForCard(card.key);
      const handle = await client.workflow.signalWithStart('cardWorkflow', {
        workflowId,
        taskQueue,
        args: [{ card, pipeline: ['implement'] }],
        signal: triggerSignal,
        signalArgs: [{ type: 'card.moved', column: 'working', deliveryId: 'move-1' }],
      });
      for (let i = 0; ; i++) {
        if ((await handle.query(stateQuery)).phase === 'review') break;
        if (i > 300) throw new Error('the patched workflow never reached review');
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.signal(triggerSignal, { type: 'review.approved', deliveryId: 'approve-1' });
      const final = (await handle.result()) as CardState;
      expect(final.phase).toBe('done');
      const runId = (await handle.describe()).runId;
      return { namespace, workflowId, runId, history: await handle.fetchHistory() };
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
    }
  } finally {
    await native.close();
    await connection.close();
  }
}

/** A limiter that grants every ask at once: the card workflow's local activity answers it with the grant itself. */
function alwaysGranting(client: Client): LimiterActivities {
  return {
    async signalLimiter(signal) {
      if (!('acquire' in signal)) return;
      const { workflowId, pool, token } = signal.acquire;
      await client.workflow.getHandle(workflowId).signal(triggerSignal, { type: 'slot.granted', pool, token });
    },
    async staleSlotHolders() {
      return [];
    },
  };
}

/** What the real activities return on success, minus the git, the agent and the board. */
const stubActivities = {
  git: {
    async prepareWorkspace(): Promise<EffectResult> {
      return { kind: 'prepare', workspace: { path: '/nonexistent/worktree', branch: 'ouija/replay-patched', baseSha: 'a'.repeat(40), remoteSha: null } };
    },
    async publish(): Promise<EffectResult> {
      return { kind: 'publish', review: { id: 'rr-1', url: 'local://review/rr-1', headSha: 'b'.repeat(40) }, remoteSha: 'b'.repeat(40) };
    },
    async cleanupWorkspace(): Promise<EffectResult> {
      return { kind: 'cleanup' };
    },
  },
  agents: {
    async runAgent(): Promise<EffectResult> {
      return { kind: 'agent', summary: 'stub agent: nothing done', commits: 1, headSha: 'b'.repeat(40), filesChanged: ['NOTES.md'] };
    },
  },
  board: { async moveCard(): Promise<void> {}, async comment(): Promise<void> {} },
  notify: { async notify(): Promise<void> {} },
};
