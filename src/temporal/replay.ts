/**
 * Replays saved or live workflow histories against workflow code (by default the current `workflows/`), one
 * at a time, and says for each whether the code still produces the same commands the history recorded.
 * This is the check behind invariant 7 (workflow code replays every history earlier versions wrote): the
 * replay test runs it over test/histories/, and `ouija replay` runs it over files or a server's workflows
 * (both loaded by histories.ts).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { History, LoadedHistory } from './histories';

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
  /** Where the history came from: its file, or `server` (the workflow and run IDs say which). */
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
  sources: Iterable<LoadedHistory> | AsyncIterable<LoadedHistory>,
  code: WorkflowCode = currentWorkflowCode(),
): AsyncGenerator<ReplayOutcome> {
  let current: LoadedHistory | undefined;
  async function* feed() {
    for await (const source of sources) {
      current = source;
      yield { workflowId: source.workflowId, history: source.history };
    }
  }
  for await (const result of Worker.runReplayHistories({ ...code, replayName: 'ouija-replay' }, feed())) {
    const origin = !current ? 'unknown' : current.from === 'server' ? 'server' : current.source;
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
