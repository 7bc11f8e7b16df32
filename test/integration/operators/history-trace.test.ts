/**
 * Issue 5: histories out of Temporal (`ouija history export`, and the Temporal CLI's own `workflow show -o
 * json`), back in (readHistoryFile), and `ouija trace`: the triggers a real card workflow processed, fed
 * through the pure transition function, must end in exactly the state the workflow itself ended in.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { CardInfo, CardState, Phase, Trigger } from '../../../src/core/types';
import { exportHistory, registerHistoryCommand } from '../../../src/cli/history';
import { registerTraceCommand, type CardTrace } from '../../../src/cli/trace';
import { findTemporalCli } from '../../../src/temporal/cli';
import { loadHistories, readHistoryFile } from '../../../src/temporal/histories';
import { formatHistoryJson } from '../../../src/temporal/history-json';
import { traceHistory, type TraceStep } from '../../../src/temporal/trace';
import type { cardWorkflow } from '../../../workflows/card';
import { triggerSignal } from '../../../workflows/messages';
import { startHarness, type Harness } from '../../support/ouija-harness';

const execFileAsync = promisify(execFile);

let h: Harness;
const savedNamespace = process.env.TEMPORAL_NAMESPACE;
beforeAll(async () => {
  h = await startHarness();
  // `ouija trace <card>` reaches Temporal the way every operator command does: through the environment.
  process.env.TEMPORAL_NAMESPACE = h.config.temporal.namespace;
});
afterAll(async () => {
  if (savedNamespace === undefined) delete process.env.TEMPORAL_NAMESPACE;
  else process.env.TEMPORAL_NAMESPACE = savedNamespace;
  await h?.stop();
});

/** Phases the card went through, without repeats: where the trace started, then each change. */
function phasesOf(steps: TraceStep[]): Phase[] {
  const phases: Phase[] = steps.length ? [steps[0]!.before.phase] : [];
  for (const s of steps) if (s.after.phase !== phases.at(-1)) phases.push(s.after.phase);
  return phases;
}

const LIFECYCLE = ['prepareWorkspace', 'runAgent', 'publish', 'cleanupWorkspace'];

/** IDs of the lifecycle activities the workflow scheduled, in history order. */
function scheduledLifecycle(history: History): string[] {
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a && LIFECYCLE.includes(a.activityType?.name ?? ''))
    .map((a) => a!.activityId!);
}

/** IDs of the lifecycle effects the trace emitted: they must be exactly what the workflow scheduled. */
function emittedLifecycle(steps: TraceStep[]): string[] {
  return steps.flatMap((s) => s.effects.flatMap((e) => (LIFECYCLE.includes(e.type) && 'effectId' in e ? [e.effectId] : [])));
}

/** Runs an `ouija` command in-process (the lead wires them into main.ts); returns what it printed. */
async function runCommand(register: (program: Command) => void, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command('ouija').exitOverride();
  register(program);
  const out = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    jest.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      out[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
  return out;
}

test('a card through review, a revision and approval: exported, shown by the Temporal CLI, traced to the same end state', async () => {
  const c = await h.newCard('Trace me', 'Say hello.');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'first review');
  const asked = await h.api('POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'Louder, please.' }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const revising = await h.waitFor(c.cardKey, (s) => s.round === 1, 'revision started');
  // The same delivery again, as a redelivered webhook that slipped past the delivery log would arrive.
  const handle = h.ouija.temporal.workflow.getHandle(c.workflowId);
  const repeated = revising.deliveries.at(-1)!;
  await handle.signal(triggerSignal, { type: 'review.changesRequested', deliveryId: repeated, comments: [{ author: 'bob', body: 'Louder, please.' }] });
  await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');
  await h.api('POST', `/api/cards/${c.cardId}/approve`, { by: 'alice' });
  const final: CardState = await handle.result();
  expect(final.phase).toBe('done');

  // ouija history export: a file that loads again, with every event.
  const file = path.join(h.workDir, 'exported.json');
  const summary = await exportHistory(h.ouija.temporal, c.cardKey, { output: file });
  expect(summary.workflowId).toBe(c.workflowId);
  const exported = await readHistoryFile(file);
  const live = await handle.fetchHistory();
  expect(summary.events).toBe(live.events!.length);
  expect(exported.events).toHaveLength(summary.events);
  expect(JSON.parse(fs.readFileSync(file, 'utf8')).events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  // The command, by workflow ID to a file and by card key to stdout: the same history.
  const viaCommand = path.join(h.workDir, 'via-command.json');
  const written = await runCommand(registerHistoryCommand, ['history', 'export', c.workflowId, '-o', viaCommand, '--run', summary.runId]);
  expect(written.stderr).toBe(`wrote ${summary.events} events of ${c.workflowId} (run ${summary.runId}) to ${viaCommand}\n`);
  // (Compared as values: the server sends map entries, like search attributes, in Go's random map order.)
  const exportedJson = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(JSON.parse(fs.readFileSync(viaCommand, 'utf8'))).toEqual(exportedJson);
  expect(JSON.parse((await runCommand(registerHistoryCommand, ['history', 'export', c.cardKey])).stdout)).toEqual(exportedJson);

  // The Temporal CLI's JSON of the same run loads too, into the same history.
  const cli = findTemporalCli();
  expect(cli).not.toBeNull();
  const shown = await execFileAsync(
    cli!,
    ['workflow', 'show', '-w', c.workflowId, '-r', summary.runId, '-o', 'json', '--address', process.env.TEMPORAL_ADDRESS!, '--namespace', h.config.temporal.namespace],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const cliFile = path.join(h.workDir, 'temporal-cli.json');
  fs.writeFileSync(cliFile, shown.stdout);
  const fromCli = await readHistoryFile(cliFile);
  expect(fromCli.events).toHaveLength(summary.events);
  expect(JSON.parse(formatHistoryJson(fromCli))).toEqual(JSON.parse(formatHistoryJson(exported)));

  // The trace: the workflow's own end state, through the expected phases, the repeat ignored.
  const steps = traceHistory(exported);
  expect(steps.at(-1)!.after).toEqual(final);
  expect(traceHistory(fromCli).at(-1)!.after).toEqual(final);
  // Each step waits (briefly, here) for a cluster-wide agent slot: the revision goes revising → queued → revising.
  expect(phasesOf(steps)).toEqual(['idle', 'preparing', 'queued', 'working', 'publishing', 'review', 'revising', 'queued', 'revising', 'publishing', 'review', 'done']);
  const duplicate = steps.filter((s) => s.ignored === `duplicate delivery ${repeated}`);
  expect(duplicate).toHaveLength(1);
  expect(duplicate[0]).toMatchObject({ origin: 'signal', trigger: { type: 'review.changesRequested' }, effects: [] });
  expect(duplicate[0]!.after.phase).toBe(duplicate[0]!.before.phase);
  expect(steps.filter((s) => s.trigger.type === 'effect.succeeded').map((s) => (s.trigger as { effectId: string }).effectId)).toEqual([
    'r1/prepare/0',
    'r1/agent/implement/0',
    'r1/publish/0',
    'r1/prepare/1',
    'r1/agent/implement/1',
    'r1/publish/1',
    'r1/cleanup/1',
  ]);
  expect(steps.some((s) => s.pending)).toBe(false);
  expect(emittedLifecycle(steps)).toEqual(scheduledLifecycle(exported));

  // The command: a table from the file, JSON from the server (card key or workflow ID).
  const { stdout: table } = await runCommand(registerTraceCommand, ['trace', file]);
  expect(table).toMatch(/^#\s+EVENT\s+TRIGGER\s+PHASE\s+EFFECTS\s+IGNORED$/m);
  expect(table).toMatch(/review\.changesRequested \(1 comment\)\s+[a-z]+\s+duplicate delivery/);
  expect(table).toContain('review → done');
  expect(table).toContain('ends done · run 1 · round 1');
  const json = JSON.parse((await runCommand(registerTraceCommand, ['trace', c.workflowId, '--json'])).stdout) as CardTrace;
  expect(json.final).toEqual(final);
  expect(json.steps).toHaveLength(steps.length);
  expect(json.source).toBe(`temporal:${c.workflowId}/${summary.runId}`);

  // A folder of histories: every file, in name order.
  const loaded = [];
  for await (const l of loadHistories(h.workDir)) loaded.push(l);
  expect(loaded.map((l) => [l.source, l.workflowId])).toEqual([
    [file, c.workflowId],
    [cliFile, c.workflowId],
    [viaCommand, c.workflowId],
  ]);
});

test('a card moved out of the working column mid-run: the trace shows the agent effect failing as cancelled, then cleanup', async () => {
  const c = await h.newCard('Stop me', 'ouija-demo: sleep=120000\nouija-demo: heartbeat=200');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  await h.waitFor(c.cardKey, (s) => s.phase === 'working', 'agent working');
  const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'backlog', expectedVersion: card.version });
  const handle = h.ouija.temporal.workflow.getHandle(c.workflowId);
  const final: CardState = await handle.result();
  expect(final.phase).toBe('cancelled');

  const history = await handle.fetchHistory();
  const steps = traceHistory(history);
  expect(steps.at(-1)!.after).toEqual(final);
  expect(emittedLifecycle(steps)).toEqual(scheduledLifecycle(history));
  expect(phasesOf(steps)).toEqual(['idle', 'preparing', 'queued', 'working', 'cancelled']);
  const stopped = steps.find((s) => s.trigger.type === 'effect.failed');
  expect(stopped?.trigger).toEqual({ type: 'effect.failed', effectId: 'r1/agent/implement/0', error: 'Activity cancelled', retryable: false, cancelled: true });
  expect(stopped?.before.phase).toBe('cancelled');
  // The agent has stopped: its cluster-wide slot goes back, then the worktree is cleaned up.
  expect(stopped?.effects.map((e) => e.type)).toEqual(['releaseSlot', 'cleanupWorkspace']);
  const moved = steps.find((s) => s.trigger.type === 'card.moved' && s.trigger.column === 'other');
  expect(moved?.effects.map((e) => e.type)).toContain('cancelEffect');
});

type HistoryEvent = NonNullable<History['events']>[number];

/** The ID of the event that scheduled the activity `activityId`, if there is one yet. */
function scheduledEventId(history: History, activityId: string): number | undefined {
  const event = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  return event ? Number(event.eventId) : undefined;
}

async function untilHistory(handle: WorkflowHandle, what: string, check: (h: History) => boolean): Promise<History> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const history = await handle.fetchHistory();
    if (check(history)) return history;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a signal and an activity result delivered in one workflow task: the trace orders them as the workflow did (signal first)', async () => {
  // A workflow worker of our own on its own task queue, stopped while the workspace is prepared, so that the
  // prepare result and a later move out of the working column reach the workflow in the same workflow task.
  const c = await h.newCard('Race the result');
  const card: CardInfo = { ref: { provider: 'builtin', boardId: c.boardId, cardId: c.cardId }, key: c.cardKey, title: 'Race the result', body: '', repo: h.remote };
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../../workflows'), logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const taskQueue = 'history-trace-paused';
  const workflowWorker = () =>
    Worker.create({ connection, namespace: h.config.temporal.namespace, taskQueue, workflowBundle: { code }, maxCachedWorkflows: 0 });
  try {
    const handle = await h.ouija.temporal.workflow.signalWithStart<typeof cardWorkflow, [Trigger]>('cardWorkflow', {
      workflowId: c.workflowId,
      taskQueue,
      args: [{ card }],
      signal: triggerSignal,
      signalArgs: [{ type: 'card.moved', column: 'working', deliveryId: 'race-1' }],
    });
    const scheduled = await (await workflowWorker()).runUntil(
      untilHistory(handle, 'prepareWorkspace scheduled', (hist) => scheduledEventId(hist, 'r1/prepare/0') !== undefined),
    );
    const prepareId = scheduledEventId(scheduled, 'r1/prepare/0')!;
    const isPrepareResult = (e: HistoryEvent) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === prepareId;
    await untilHistory(handle, 'prepareWorkspace completed', (hist) => (hist.events ?? []).some(isPrepareResult));
    await handle.signal(triggerSignal, { type: 'card.moved', column: 'other', deliveryId: 'race-2' });
    const final: CardState = await (await workflowWorker()).runUntil(handle.result());

    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const completed = events.findIndex(isPrepareResult);
    const signalled = events.findIndex((e, i) => i > 1 && e.workflowExecutionSignaledEventAttributes);
    // The set-up worked: result, then signal, with no workflow task completed in between.
    expect(completed).toBeGreaterThan(0);
    expect(signalled).toBeGreaterThan(completed);
    expect(events.slice(completed, signalled).some((e) => e.workflowTaskCompletedEventAttributes)).toBe(false);

    // The workflow applied the move first: the run was cancelled before an agent was ever scheduled.
    expect(scheduledLifecycle(history)).toEqual(['r1/prepare/0', 'r1/cleanup/0']);
    const steps = traceHistory(history);
    expect(steps.map((s) => [s.eventId, s.trigger.type])).toEqual([
      [2, 'card.moved'],
      [Number(events[signalled]!.eventId), 'card.moved'],
      [Number(events[completed]!.eventId), 'effect.succeeded'],
      [expect.any(Number), 'effect.succeeded'],
    ]);
    expect(emittedLifecycle(steps)).toEqual(scheduledLifecycle(history));
    expect(steps.at(-1)!.after).toEqual(final);
    expect(final.phase).toBe('cancelled');
  } finally {
    await connection.close();
  }
});
