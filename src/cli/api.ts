import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { startOuija } from '../../workers/all-in-one';
import { onShutdownSignal } from './services';

export async function apiCommand(): Promise<void> {
  const config = loadConfig();
  if (!config.temporal.address) throw new Error('TEMPORAL_ADDRESS is required for `ouija api` (use `ouija dev` for everything embedded)');
  const ouija = await startOuija({ config, temporalAddress: config.temporal.address, queues: [], http: true, log });
  onShutdownSignal(log, () => ouija.stop());
  process.stdout.write(`Ouija API listening on ${ouija.url}\n`);
}

export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description('run the HTTP front end only (production split); TEMPORAL_ADDRESS required')
    .action(() => apiCommand());
}
