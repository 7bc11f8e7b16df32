/** The `ouija` command line. One file per command; this one only wires them to commander. */
import { Command } from 'commander';
import { log } from '../log';
import { apiCommand } from './api';
import { demoCommand } from './demo';
import { devCommand } from './dev';
import { migrateCommand } from './migrate';
import { workerCommand } from './worker';

const program = new Command('ouija').description('Dispatch AI coding agents from a kanban board, as durable Temporal workflows');

program
  .command('dev')
  .description('run everything embedded: Temporal dev server, Postgres (PGlite unless DATABASE_URL), workers, HTTP')
  .action(() => devCommand());

program
  .command('demo')
  .description('run the whole loop once on a throwaway repository and the built-in board')
  .option('--json', 'print one JSON object describing the card at the end')
  .option('--keep', 'keep Ouija and the throwaway repository after the demo (Ctrl-C stops)')
  .action((opts: { json?: boolean; keep?: boolean }) => demoCommand(opts));

program
  .command('migrate')
  .description('apply database migrations (also done on every start)')
  .action(() => migrateCommand());

program
  .command('worker')
  .description('run workers only (production split); TEMPORAL_ADDRESS required')
  .option('-q, --queue <queue...>', 'task queues to serve (workflows agents git board notify); default all')
  .action((opts: { queue?: string[] }) => workerCommand(opts));

program
  .command('api')
  .description('run the HTTP front end only (production split); TEMPORAL_ADDRESS required')
  .action(() => apiCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  log.error({ err }, (err as Error).message);
  process.exitCode = 1;
});
