/**
 * Replays saved or live workflow histories against workflow code (by default the current `workflows/`), one
 * at a time, and says for each whether the code still produces the same commands the history recorded.
 * This is the check behind invariant 7 (workflow code replays every history earlier versions wrote): the
 * replay test runs it over test/histories/, and `ouija replay` runs it over files or a server's workflows.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowIdOf } from './histories';

/** One history to replay, and where it came from (a file path, or the server). */
export interface HistorySource {
  workflowId: string;
  /** What to print for it: a file path, or `server`. */
  origin: string;
  history: History;
}

/** The code to replay against: a prebuilt bundle, or a workflows folder/module to bundle first. */
export type WorkflowCode = Pick<ReplayWorkerOptions, 'workflowBundle'> | Pick<ReplayWorkerOptions, 'workflowsPath'>;

/** Where the command diverged from the history, as far as the SDK's message says. */
export interface Divergence {
  eventId: number;
  eventType: string;
}

export interface ReplayOutcome {
  workflowId: string;
  runId: string;
  origin: string;
  /** null when the replay succeeded. */
  failure: null | {
    /** `nondeterminism`: the code no longer matches the history; `error`: the replay failed otherwise. */
    kind: 'nondeterminism' | 'error';
    /** Core's own words, without the SDK's wrapping (`[TMPRL1100] Nondeterminism error: …`). */
    reason: string;
    /** The SDK's full message. */
    message: string;
    divergence: Divergence | null;
  };
}

/** The workflows folder this build of Ouija runs (src/temporal → workflows, or dist/src/temporal → dist/workflows). */
export function currentWorkflowCode(): WorkflowCode {
  return { workflowsPath: require.resolve('../../workflows') };
}

/**
 * Replays each history in turn with one replay worker. Outcomes come in the order of `sources` (the SDK
 * replays one history at a time), so each is paired with the source that produced it.
 */
export async function* replayHistories(
  sources: Iterable<HistorySource> | AsyncIterable<HistorySource>,
  code: WorkflowCode = currentWorkflowCode(),
): AsyncGenerator<ReplayOutcome> {
  let current: HistorySource | undefined;
  async function* feed() {
    for await (const source of sources) {
      current = source;
      yield { workflowId: source.workflowId, history: source.history };
    }
  }
  for await (const result of Worker.runReplayHistories({ ...code, replayName: 'ouija-replay' }, feed())) {
    const origin = current?.origin ?? 'unknown';
    if (!result.error) {
      yield { workflowId: result.workflowId, runId: result.runId, origin, failure: null };
      continue;
    }
    const message = result.error.message;
    const kind = result.error instanceof DeterminismViolationError ? 'nondeterminism' : 'error';
    const reason = coreReason(message);
    const divergence = divergenceOf(reason, current?.history);
    yield { workflowId: result.workflowId, runId: result.runId, origin, failure: { kind, reason, message, divergence } };
  }
}

/**
 * Core's message inside the SDK's wrapping: either `Replay failed … Details: <reason>` or
 * `Workflow activation completion failed: Failure { failure: Some(Failure { message: "<reason>", … }) … }`.
 */
export function coreReason(message: string): string {
  const quoted = /message: "((?:[^"\\]|\\.)*)"/.exec(message);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const details = message.indexOf('Details: ');
  return (details >= 0 ? message.slice(details + 'Details: '.length) : message).replace(/\s+/g, ' ').trim();
}

/**
 * The history event where code and history part ways. Core names it in most messages
 * (`Timer machine does not handle this event: HistoryEvent(id: 7, ActivityTaskScheduled)`). Two messages name
 * something else, which is then looked up in the history: a changed activity ID (`Activity id of scheduled
 * event '<id>' does not match …`) and a patch marker the code no longer asks about (`… patch marker
 * encountered for change <patch id> …`).
 */
export function divergenceOf(reason: string, history?: History): Divergence | null {
  const named = /HistoryEvent\(\s*id:\s*(\d+),\s*([A-Za-z]+)/.exec(reason);
  if (named) return { eventId: Number(named[1]), eventType: named[2]! };
  const events = history?.events ?? [];
  const activityId = /Activity id of scheduled event '([^']*)'/.exec(reason)?.[1];
  const scheduled = activityId === undefined ? undefined : events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  if (scheduled) return { eventId: Number(scheduled.eventId), eventType: 'ActivityTaskScheduled' };
  const patch = /patch marker encountered for change (\S+?),/.exec(reason)?.[1];
  const marker = patch === undefined ? undefined : events.find((e) => patchIdOf(e) === patch);
  return marker ? { eventId: Number(marker.eventId), eventType: 'MarkerRecorded' } : null;
}

type HistoryEvent = NonNullable<History['events']>[number];

/** The change ID of a `patched()` / `deprecatePatch()` marker event. */
function patchIdOf(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  const payload = marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0] : undefined;
  if (!payload) return undefined;
  try {
    return (defaultPayloadConverter.fromPayload(payload) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Where histories come from.

/** Reads one exported history (proto3 JSON `{events}`, as `ouija history export` and test/histories/ have it). */
export function readHistorySource(file: string): HistorySource {
  const history = historyFromJson(JSON.parse(fs.readFileSync(file, 'utf8')));
  // Older servers do not record the workflow ID in the history; the card workflow never reads its own.
  return { workflowId: workflowIdOf(history) ?? path.basename(file, '.json'), origin: file, history };
}

// The SDK's historyFromJSON/historyToJSON (@temporalio/common/lib/proto-utils) throw "type must be a Type"
// here: npm gives @temporalio/common and @temporalio/proto separate copies of protobufjs 8 (the top-level
// slot holds grpc's protobufjs 7), and protojson checks `instanceof Type` against its own copy. Converting
// with the protojson of the copy @temporalio/proto is built on gives the same proto3 JSON the SDK writes.
const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
};
// The generated module's types lack the reflection API that the patched root has at run time.
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** Proto3 JSON (`{"events":[{"eventId":"1","eventType":"EVENT_TYPE_…",…}]}`) → History. */
export function historyFromJson(json: unknown): History {
  const events = (json as { events?: unknown } | null)?.events;
  if (!Array.isArray(events) || events.length === 0) throw new TypeError('not a history: expected {"events": [...]} with at least one event');
  // Unknown fields are tolerated, as the SDK does: a newer server may add some.
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}

/** History → pretty-printed proto3 JSON, the format of `temporal workflow show --output json` and the Web UI's export. */
export function historyToJson(history: History): string {
  return JSON.stringify(protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)), null, 2);
}

/** A file itself, or every `*.json` file directly inside a folder, sorted by name. */
export function historyFilesAt(target: string): string[] {
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => path.join(target, name));
}

/** Every run of one workflow ID still on the server: a card's runs, continue-as-new included. */
export function historiesOfWorkflow(client: Client, workflowId: string): AsyncIterable<HistorySource> {
  return fromServer(client, `WorkflowId = '${escapeQuery(workflowId)}'`);
}

/** Every card workflow run started after `since`, open or closed. */
export function cardHistoriesSince(client: Client, since: Date): AsyncIterable<HistorySource> {
  return fromServer(client, `WorkflowType = 'cardWorkflow' AND StartTime > '${since.toISOString()}'`);
}

async function* fromServer(client: Client, query: string): AsyncGenerator<HistorySource> {
  // A small buffer: a replay that is stopped early should not have fetched everything first.
  for await (const { workflowId, history } of client.workflow.list({ query }).intoHistories({ concurrency: 4, bufferLimit: 8 })) {
    // The client fetched it as a History; the shared type only leaves room for JSON too.
    yield { workflowId, origin: 'server', history: history as History };
  }
}

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
