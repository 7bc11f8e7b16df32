/** The `ouija` command line. One file per command, each registering itself; this file only lists them. */
import { Command } from 'commander';
import { log } from '../log';
import { registerApiCommand } from './api';
import { registerClusterCommand } from './cluster';
import { registerDemoCommand } from './demo';
import { registerDevCommand } from './dev';
import { registerHistoryCommand } from './history';
import { registerLogsCommand } from './logs';
import { registerMigrateCommand } from './migrate';
import { registerOperatorCommands } from './operator';
import { registerReplayCommand } from './replay';
import { registerRunsCommand } from './runs';
import { registerSetupCommand } from './setup';
import { registerStatusCommand } from './status';
import { registerTraceCommand } from './trace';
import { registerWorkerCommand } from './worker';

const program = new Command('ouija').description('Dispatch AI coding agents from a kanban board, as durable Temporal workflows');

for (const register of [
  registerDevCommand,
  registerDemoCommand,
  registerClusterCommand,
  registerWorkerCommand,
  registerApiCommand,
  registerMigrateCommand,
  registerSetupCommand,
  registerRunsCommand,
  registerStatusCommand,
  registerOperatorCommands,
  registerHistoryCommand,
  registerTraceCommand,
  registerReplayCommand,
  registerLogsCommand,
]) {
  register(program);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  log.error({ err }, (err as Error).message);
  process.exitCode = 1;
});
