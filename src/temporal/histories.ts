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
import { cardKeyFromWorkflowId, parseCardKey, workflowIdForCard } from '../core/cards';
import { formatHistoryJson, parseHistoryJson } from './history-json';

export type { History };

export interface LoadedHistory {
  workflowId: string;
  history: History;
  /** Where it came from: a file path, or `temporal:<workflow ID>/<run ID>`. */
  source: string;
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

/** Proto3 JSON `{ "events": [...] }`, as the Web UI downloads it and `temporal workflow show -o json` prints it. */
export function historyToJson(history: History): string {
  return formatHistoryJson(history);
}

/**
 * The card workflow's ID from a card key (`builtin:b1:c1`) or the workflow ID itself (`card:builtin:b1:c1`).
 * Throws InvalidCardRefError for anything else.
 */
export function cardWorkflowId(cardOrWorkflowId: string): string {
  const key = cardOrWorkflowId.startsWith('card:') ? cardKeyFromWorkflowId(cardOrWorkflowId) : cardOrWorkflowId;
  parseCardKey(key);
  return workflowIdForCard(key);
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
  const history = await client.workflow.getHandle(workflowId, run).fetchHistory();
  return { workflowId, runId: run, history };
}

/**
 * The histories an argument names: a history file, every `*.json` in a folder (not its subfolders, in name
 * order), or a card key / workflow ID fetched from the server (which needs `client`). A path that exists
 * wins over a card key of the same spelling.
 */
export async function* loadHistories(arg: string, client?: Client, options: { runId?: string } = {}): AsyncIterable<LoadedHistory> {
  const stat = await fs.stat(arg).catch(() => null);
  if (stat?.isDirectory()) {
    const names = (await fs.readdir(arg)).filter((name) => name.endsWith('.json')).sort();
    for (const name of names) yield await loadFile(path.join(arg, name));
    return;
  }
  if (stat) {
    yield await loadFile(arg);
    return;
  }
  const workflowId = cardWorkflowId(arg);
  if (!client) throw new Error(`${arg} is not a file or folder, and no Temporal server is at hand to fetch it from`);
  const fetched = await fetchCardHistory(client, workflowId, options.runId);
  yield { workflowId, history: fetched.history, source: `temporal:${workflowId}/${fetched.runId}` };
}

/** True when `arg` names a file or folder (rather than a card to fetch from the server). */
export async function isHistoryPath(arg: string): Promise<boolean> {
  return (await fs.stat(arg).catch(() => null)) !== null;
}

async function loadFile(file: string): Promise<LoadedHistory> {
  const history = await readHistoryFile(file);
  return { workflowId: workflowIdOf(history) ?? path.basename(file, '.json'), history, source: file };
}

/** The workflow ID recorded in the start event (servers since 1.23 write it there), if any. */
export function workflowIdOf(history: History): string | undefined {
  const first = history.events?.[0];
  if (first?.eventType !== temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) return undefined;
  return first.workflowExecutionStartedEventAttributes?.workflowId || undefined;
}
