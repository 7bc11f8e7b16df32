/**
 * `ouija replay <card | file | dir>... [--all --since <date>]`: replays workflow histories against the
 * workflow code of this build and prints one line per history. Exits non-zero if any history does not
 * replay, naming the event where the code and the history diverge (see docs/VERSIONING.md).
 */
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import {
  cardHistoriesSince,
  cardRunHistories,
  cardWorkflowId,
  historyFilesAt,
  isHistoryPath,
  loadHistoryFile,
  type LoadedHistory,
} from '../temporal/histories';
import { replayHistories, type ReplayOutcome, type WorkflowCode } from '../temporal/replay';
import { withTemporalClient } from './temporal-client';

export interface ReplayCliOptions {
  /** Replay every card workflow run started after `since` (default: the last 7 days). */
  all?: boolean;
  since?: string;
}

export interface ReplayIo {
  out(line: string): void;
  /** Workflow code to replay against; default: this build's workflows/. */
  code?: WorkflowCode;
  withClient?: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
}

const WEEK_MS = 7 * 24 * 60 * 60_000;

/** Replays everything the targets name; resolves to the exit code (0: all replayed, 1: any did not). */
export async function runReplay(targets: string[], options: ReplayCliOptions, io: ReplayIo): Promise<number> {
  const since = options.since === undefined ? new Date(Date.now() - WEEK_MS) : new Date(options.since);
  if (Number.isNaN(since.getTime())) throw new Error(`--since ${JSON.stringify(options.since)} is not a date (use ISO 8601, e.g. 2025-01-31)`);
  if (!options.all && targets.length === 0) throw new Error('name a card, a history file or a folder of them, or use --all');

  const isPath = await Promise.all(targets.map(isHistoryPath));
  const files = targets.filter((_t, i) => isPath[i]);
  const cards = targets.filter((_t, i) => !isPath[i]).map(cardArg);
  const tally = { replayed: 0, failed: 0 };
  const fail = (line: string) => {
    tally.failed++;
    io.out(line);
  };

  async function* sources(client: Client | null): AsyncGenerator<LoadedHistory> {
    for (const target of files) {
      for (const file of await historyFilesAt(target)) {
        // One unreadable file is reported (readHistoryFile's messages name the file) and skipped: the others still replay.
        const loaded = await loadHistoryFile(file).catch((err: unknown) => fail(`FAILED  ${(err as Error).message}`));
        if (loaded) yield loaded;
      }
    }
    if (!client) return;
    for (const workflowId of cards) {
      let found = 0;
      for await (const source of cardRunHistories(client, workflowId)) {
        found++;
        yield source;
      }
      if (found === 0) fail(`FAILED  ${workflowId}: no runs of it on the server (retention may have removed them)`);
    }
    if (options.all) {
      io.out(`replaying card workflows started after ${since.toISOString()}`);
      yield* cardHistoriesSince(client, since);
    }
  }

  const replayAll = async (client: Client | null) => {
    for await (const outcome of replayHistories(sources(client), io.code)) {
      tally.replayed++;
      if (outcome.failure) fail(formatOutcome(outcome));
      else io.out(formatOutcome(outcome));
    }
  };
  const needsServer = options.all || cards.length > 0;
  if (needsServer) await (io.withClient ?? withTemporalClient)(replayAll);
  else await replayAll(null);

  io.out(`${tally.replayed} replayed, ${tally.failed} failed`);
  return tally.failed === 0 ? 0 : 1;
}

/** The workflow ID of a target that is not a path, which must then name a card. */
function cardArg(target: string): string {
  try {
    return cardWorkflowId(target);
  } catch (err) {
    throw new Error(`${target}: no such file or folder, and not a card (${(err as Error).message})`, { cause: err });
  }
}

/** One line per history: `ok` or `FAILED`, its workflow and run, where it came from, and why it failed. */
export function formatOutcome(o: ReplayOutcome): string {
  const where = `${o.workflowId} run ${o.runId} (${o.origin})`;
  if (!o.failure) return `ok      ${where}`;
  const at = o.failure.divergence ? ` at event ${o.failure.divergence.eventId} ${o.failure.divergence.eventType}` : '';
  return `FAILED  ${where}: ${o.failure.kind}${at}: ${o.failure.reason}`;
}

/** The replay worker's own logs would repeat each failure in Rust's format: this command prints them once. */
function quietSdkLogs(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // A runtime is already installed (Ouija embedded in something else): keep its settings.
  }
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('replay workflow histories (files, folders, cards, or all recent card workflows) against this build\'s workflow code')
    .argument('[targets...]', 'history files (proto3 JSON), folders of them, card keys or workflow IDs')
    .option('--all', 'replay every card workflow run on the server started after --since')
    .option('--since <date>', 'with --all: ISO date or time (default: 7 days ago)')
    .action(async (targets: string[], opts: ReplayCliOptions) => {
      quietSdkLogs();
      process.exitCode = await runReplay(targets, opts, { out: (line) => process.stdout.write(`${line}\n`) });
    });
}
