/**
 * `ouija trace <card | file | folder> [--json] [--run id]`: what a card workflow decided and why, rebuilt from
 * its history by the pure transition function (src/temporal/trace.ts). A card is fetched from Temporal; a
 * file or folder of history files needs no server at all.
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import type { CardState, Effect, Trigger } from '../core/types';
import { isHistoryPath, loadHistories, type LoadedHistory } from '../temporal/histories';
import { initialStateOf, traceHistory, type TraceStep } from '../temporal/trace';
import { formatTable } from './table';
import { withTemporalClient } from './temporal-client';

export interface CardTrace {
  workflowId: string;
  source: string;
  initial: CardState;
  steps: TraceStep[];
  final: CardState;
}

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description('replay a card workflow history through the transition function: every trigger, phase change, effect and ignored reason')
    .argument('<card|file>', 'card key or workflow ID (fetched from Temporal), a history JSON file, or a folder of them')
    .option('--json', 'print the trace as JSON (an array of traces for a folder)')
    .option('--run <runId>', 'for a card: a particular run (default: the latest)')
    .action(async (arg: string, opts: { json?: boolean; run?: string }) => {
      const traces = await loadTraces(arg, opts.run);
      const single = traces.length === 1 && !(await isFolder(arg));
      process.stdout.write(opts.json ? `${JSON.stringify(single ? traces[0] : traces, null, 2)}\n` : `${traces.map(formatTrace).join('\n\n')}\n`);
    });
}

/** Traces of the histories `arg` names; asks Temporal only when `arg` is not a file or folder. */
export async function loadTraces(arg: string, runId?: string): Promise<CardTrace[]> {
  const collect = async (histories: AsyncIterable<LoadedHistory>) => {
    const traces: CardTrace[] = [];
    for await (const loaded of histories) traces.push(traceOf(loaded));
    return traces;
  };
  if (await isHistoryPath(arg)) return collect(loadHistories(arg));
  return withTemporalClient((client) => collect(loadHistories(arg, client, { runId })));
}

export function traceOf({ workflowId, source, history }: LoadedHistory): CardTrace {
  const initial = initialStateOf(history);
  const steps = traceHistory(history);
  return { workflowId, source, initial, steps, final: steps.at(-1)?.after ?? initial };
}

/** A readable table: one row per trigger. */
export function formatTrace(trace: CardTrace): string {
  const { initial, final } = trace;
  const header = [
    `${trace.workflowId}  (${trace.source})`,
    `card ${initial.card.key} "${initial.card.title}" · pipeline ${initial.pipeline.join(' → ')} · starts ${initial.phase}, run ${initial.run}`,
  ];
  const rows = trace.steps.map((s) => [
    String(s.step),
    String(s.eventId),
    describeTrigger(s.trigger) + (s.pending ? ' (not processed yet)' : ''),
    s.before.phase === s.after.phase ? s.after.phase : `${s.before.phase} → ${s.after.phase}`,
    s.effects.map(describeEffect).join(', '),
    s.ignored ?? '',
  ]);
  const table = rows.length ? formatTable(['#', 'EVENT', 'TRIGGER', 'PHASE', 'EFFECTS', 'IGNORED'], rows) : '(no triggers)';
  const footer = `ends ${final.phase} · run ${final.run} · round ${final.round}${final.inFlight ? ` · in flight: ${final.inFlight.effectId}` : ''}${final.lastError ? ` · last error: ${final.lastError}` : ''}`;
  return [...header, '', table, '', footer].join('\n');
}

export function describeTrigger(t: Trigger): string {
  switch (t.type) {
    case 'effect.succeeded':
      return `effect.succeeded ${t.effectId}`;
    case 'effect.failed':
      return `effect.failed ${t.effectId} ${t.cancelled ? '(cancelled)' : t.hostLost ? `(host lost: ${clip(t.error, 50)})` : `(${clip(t.error, 60)})`}`;
    case 'slot.granted':
      return `slot.granted ${t.token}`;
    case 'card.moved':
      return `card.moved → ${t.column}`;
    case 'review.changesRequested':
      return `review.changesRequested (${t.comments.length} comment${t.comments.length === 1 ? '' : 's'})`;
    case 'review.approved':
      return t.by ? `review.approved by ${t.by}` : 'review.approved';
    default:
      return t.type;
  }
}

export function describeEffect(e: Effect): string {
  switch (e.type) {
    case 'moveCard':
      return `moveCard → ${e.column}`;
    case 'comment':
      return `comment ${e.commentKey}`;
    case 'notify':
      return `notify ${e.event}`;
    case 'acquireSlot':
      return `acquireSlot ${e.limiter} ${e.token} (${e.count} of ${e.max})`;
    case 'releaseSlot':
      return `releaseSlot ${e.limiter} ${e.token}`;
    default:
      return `${e.type} ${e.effectId}`;
  }
}

const clip = (text: string, max: number): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

async function isFolder(arg: string): Promise<boolean> {
  return (await fs.stat(arg).catch(() => null))?.isDirectory() ?? false;
}
