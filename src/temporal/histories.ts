/**
 * Card workflow histories, from a file, a folder of files or the server, for the commands that read them
 * (`ouija history export`, `ouija trace`, `ouija replay`). Files are the JSON the Temporal CLI and Web UI
 * write (see history-json.ts); what Ouija writes is the same format, so the three tools read each other's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { cardKeyFromArg, workflowIdForCard } from '../core/cards';
import { parseHistoryJson } from './history-json';

export type { History };

export interface LoadedHistory {
  workflowId: string;
  history: History;
  /** Where it came from: a file path, or `temporal:<workflow ID>/<run ID>`. */
  source: string;
  /** Read from a file, or fetched from the Temporal server. */
  from: 'file' | 'server';
}

/** Reads a history file written by `ouija history export`, `temporal workflow show -o json` or the Web UI. */
export async function readHistoryFile(file: string): Promise<History> {
  const text = await fs.readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseHistoryJson(json);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** A history file, named by the workflow ID in its start event, else by the file's own name. */
export async function loadHistoryFile(file: string): Promise<LoadedHistory> {
  const history = await readHistoryFile(file);
  return { workflowId: workflowIdOf(history) ?? path.basename(file, '.json'), history, source: file, from: 'file' };
}

/** The history files a path names: the file itself, or every `*.json` in a folder (not its subfolders), in name order. */
export async function historyFilesAt(target: string): Promise<string[]> {
  if (!(await fs.stat(target)).isDirectory()) return [target];
  const names = (await fs.readdir(target)).filter((name) => name.endsWith('.json')).sort();
  return names.map((name) => path.join(target, name));
}

/** True when `arg` names a file or folder (rather than a card to fetch from the server). */
export async function isHistoryPath(arg: string): Promise<boolean> {
  return (await fs.stat(arg).catch(() => null)) !== null;
}

/**
 * The card workflow's ID from a card key (`builtin:b1:c1`) or the workflow ID itself (`card:builtin:b1:c1`).
 * Throws InvalidCardRefError for anything else.
 */
export function cardWorkflowId(cardOrWorkflowId: string): string {
  return workflowIdForCard(cardKeyFromArg(cardOrWorkflowId));
}

/** A card workflow's history from the server: the given run, or the latest one. */
export async function fetchCardHistory(
  client: Client,
  cardOrWorkflowId: string,
  runId?: string,
): Promise<{ workflowId: string; runId: string; history: History }> {
  const workflowId = cardWorkflowId(cardOrWorkflowId);
  // Pin the run first, so the run ID reported is the one whose history was fetched.
  const run = runId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
  return { workflowId, runId: run, history: await fetchRun(client, workflowId, run) };
}

/** Every run of a card's workflow still on the server (retention permitting): continue-as-new and restarts included. */
export function cardRunHistories(client: Client, cardOrWorkflowId: string): AsyncIterable<LoadedHistory> {
  return listedHistories(client, `WorkflowId = '${escapeQuery(cardWorkflowId(cardOrWorkflowId))}'`);
}

/** Every card workflow run started after `since`, open or closed. */
export function cardHistoriesSince(client: Client, since: Date): AsyncIterable<LoadedHistory> {
  return listedHistories(client, `WorkflowType = 'cardWorkflow' AND StartTime > '${since.toISOString()}'`);
}

/**
 * The histories an argument names: a history file, every `*.json` in a folder (see historyFilesAt), or a
 * card key / workflow ID fetched from the server (which needs `client`). A path that exists wins over a
 * card key of the same spelling.
 */
export async function* loadHistories(arg: string, client?: Client, options: { runId?: string } = {}): AsyncIterable<LoadedHistory> {
  if (await isHistoryPath(arg)) {
    for (const file of await historyFilesAt(arg)) yield await loadHistoryFile(file);
    return;
  }
  const workflowId = cardWorkflowId(arg);
  if (!client) throw new Error(`${arg} is not a file or folder, and no Temporal server is at hand to fetch it from`);
  const fetched = await fetchCardHistory(client, workflowId, options.runId);
  yield fromServer(workflowId, fetched.runId, fetched.history);
}

/** The workflow ID recorded in the start event (servers since 1.23 write it there), if any. */
export function workflowIdOf(history: History): string | undefined {
  const first = history.events?.[0];
  if (first?.eventType !== temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) return undefined;
  return first.workflowExecutionStartedEventAttributes?.workflowId || undefined;
}

/**
 * The runs a visibility query lists, one history at a time: a consumer that stops early (a failed replay)
 * has not fetched the rest.
 */
async function* listedHistories(client: Client, query: string): AsyncGenerator<LoadedHistory> {
  for await (const { workflowId, runId } of client.workflow.list({ query })) {
    yield fromServer(workflowId, runId, await fetchRun(client, workflowId, runId));
  }
}

const fetchRun = (client: Client, workflowId: string, runId: string): Promise<History> => client.workflow.getHandle(workflowId, runId).fetchHistory();

const fromServer = (workflowId: string, runId: string, history: History): LoadedHistory => ({
  workflowId,
  history,
  source: `temporal:${workflowId}/${runId}`,
  from: 'server',
});

function escapeQuery(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
