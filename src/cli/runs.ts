/** `ouija runs [--board B] [--phase P] [--repo R] [--json]`: card runs from Temporal visibility. */
import type { Command } from 'commander';
import { OUIJA_BOARD, OUIJA_CARD, OUIJA_PHASE, OUIJA_REPO } from '../temporal/search-attributes';
import { formatTable } from './table';
import { withTemporalClient } from './temporal-client';

export interface RunsFilter {
  board?: string;
  phase?: string;
  repo?: string;
  limit?: number;
}

/** A visibility query for card workflows; values are quoted, and quotes in them refused. */
export function runsQuery(filter: RunsFilter): string {
  const clauses = ["WorkflowType = 'cardWorkflow'"];
  const add = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    if (/['"\\]/.test(value)) throw new Error(`${name} filter may not contain quotes or backslashes`);
    clauses.push(`${name} = '${value}'`);
  };
  add('OuijaBoard', filter.board);
  add('OuijaPhase', filter.phase);
  add('OuijaRepo', filter.repo);
  return clauses.join(' AND ');
}

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('list card runs (newest first) from Temporal visibility')
    .option('--board <board>', 'only this board')
    .option('--phase <phase>', 'only cards in this phase (idle, preparing, working, publishing, review, revising, done, failed, cancelled)')
    .option('--repo <repo>', 'only this repository')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--json', 'one JSON array')
    .action((opts: RunsFilter & { json?: boolean }) =>
      withTemporalClient(async (client) => {
        const rows = [];
        for await (const wf of client.workflow.list({ query: runsQuery(opts) })) {
          const sa = wf.typedSearchAttributes;
          rows.push({
            card: sa.get(OUIJA_CARD) ?? '',
            board: sa.get(OUIJA_BOARD) ?? '',
            phase: sa.get(OUIJA_PHASE) ?? '',
            status: wf.status.name,
            repo: sa.get(OUIJA_REPO) ?? '',
            workflowId: wf.workflowId,
            runId: wf.runId,
            started: wf.startTime.toISOString(),
            closed: wf.closeTime?.toISOString() ?? null,
          });
          if (rows.length >= (opts.limit ?? 50)) break;
        }
        if (opts.json) return void process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        process.stdout.write(`${formatTable(['CARD', 'PHASE', 'STATUS', 'STARTED', 'RUN ID', 'REPO'], rows.map((r) => [r.card, r.phase, r.status, r.started, r.runId, r.repo]))}\n`);
      }),
    );
}
