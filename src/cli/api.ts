import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { startOuija } from '../../workers/all-in-one';
import { requireSharedServices, requireTokenOffLoopback } from './production';
import { onShutdownSignal } from './services';

export async function apiCommand(): Promise<void> {
  const config = loadConfig();
  const { temporalAddress } = requireSharedServices('api', config);
  requireTokenOffLoopback(config.host, process.env.OUIJA_API_TOKEN);
  const ouija = await startOuija({ config, temporalAddress, queues: [], http: true, log });
  onShutdownSignal(log, () => ouija.stop());
  process.stdout.write(`Ouija API listening on ${ouija.url} (HOST=${config.host})\n`);
}

export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description('run the HTTP front end only (production split); DATABASE_URL and TEMPORAL_ADDRESS required, HOST and PORT for the listener')
    .action(() => apiCommand());
}
