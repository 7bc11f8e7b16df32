/**
 * `ouija history export <card> [-o file] [--run id]`: a card workflow's history as the JSON the Temporal Web UI
 * downloads and `temporal workflow show -o json` prints, for bug reports, `ouija trace`, `ouija replay` and
 * the replay tests' test/histories/.
 */
import fs from 'node:fs/promises';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { fetchCardHistory } from '../temporal/histories';
import { formatHistoryJson } from '../temporal/history-json';
import { withTemporalClient } from './temporal-client';

export interface ExportOptions {
  /** File to write; stdout when absent. */
  output?: string;
  run?: string;
}

export interface ExportSummary {
  workflowId: string;
  runId: string;
  events: number;
}

export function registerHistoryCommand(program: Command): void {
  const history = program.command('history').description('card workflow histories');
  history
    .command('export')
    .description('write a card workflow history as JSON (the format of the Web UI download and `temporal workflow show -o json`)')
    .argument('<card>', 'card key (builtin:board:card) or workflow ID (card:builtin:board:card)')
    .option('-o, --output <file>', 'file to write (default: stdout)')
    .option('--run <runId>', 'a particular run (default: the latest)')
    .action((card: string, opts: ExportOptions) =>
      withTemporalClient(async (client) => {
        const summary = await exportHistory(client, card, opts);
        if (opts.output) {
          process.stderr.write(`wrote ${summary.events} events of ${summary.workflowId} (run ${summary.runId}) to ${opts.output}\n`);
        }
      }),
    );
}

/** Fetches the history and writes it to `opts.output`, or to `stdout` when no file is given. */
export async function exportHistory(
  client: Client,
  card: string,
  opts: ExportOptions,
  stdout: Pick<NodeJS.WritableStream, 'write'> = process.stdout,
): Promise<ExportSummary> {
  const { workflowId, runId, history } = await fetchCardHistory(client, card, opts.run);
  const json = `${formatHistoryJson(history)}\n`;
  if (opts.output) await fs.writeFile(opts.output, json);
  else stdout.write(json);
  return { workflowId, runId, events: history.events?.length ?? 0 };
}
