import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { ALL_QUEUES, type QueueName } from '../../workers/queues';
import { startOuija } from '../../workers/all-in-one';
import { agentSandboxSummary, onShutdownSignal } from './services';

export async function workerCommand(opts: { queue?: string[] }): Promise<void> {
  const config = loadConfig();
  if (!config.temporal.address) throw new Error('TEMPORAL_ADDRESS is required for `ouija worker` (use `ouija dev` for everything embedded)');
  const queues = (opts.queue ?? ALL_QUEUES) as QueueName[];
  const unknown = queues.filter((q) => !ALL_QUEUES.includes(q));
  if (unknown.length) throw new Error(`unknown queue(s): ${unknown.join(', ')}; choose from ${ALL_QUEUES.join(', ')}`);
  const ouija = await startOuija({ config, temporalAddress: config.temporal.address, queues, log });
  if (queues.includes('agents')) {
    const agents = await agentSandboxSummary(config);
    if (agents.refused) log.error({ agentSandbox: agents.line }, `agents: ${agents.line}`);
    else log.info({ agentSandbox: agents.line }, `agents: ${agents.line}`);
  }
  onShutdownSignal(log, () => ouija.stop());
  await ouija.workers?.done;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run workers only (production split); TEMPORAL_ADDRESS required')
    .option('-q, --queue <queue...>', `task queues to serve (${ALL_QUEUES.join(' ')}); default all`)
    .action((opts: { queue?: string[] }) => workerCommand(opts));
}
