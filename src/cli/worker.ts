import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { ALL_QUEUES, type QueueName } from '../../workers/queues';
import { startOuija } from '../../workers/all-in-one';
import { portFrom, requireSharedServices } from './production';
import { agentSandboxSummary, onShutdownSignal } from './services';

export async function workerCommand(opts: { queue?: string[] }): Promise<void> {
  const config = loadConfig();
  const { temporalAddress } = requireSharedServices('worker', config);
  const queues = (opts.queue ?? ALL_QUEUES) as QueueName[];
  const unknown = queues.filter((q) => !ALL_QUEUES.includes(q));
  if (unknown.length) throw new Error(`unknown queue(s): ${unknown.join(', ')}; choose from ${ALL_QUEUES.join(', ')}`);
  if (queues.includes('agents') !== queues.includes('git')) {
    log.warn({ queues }, 'the agents and git queues should run together: a card\'s agents and git work run on the host that holds its worktree');
  }
  const workerHttpPort = portFrom('WORKER_PORT', process.env.WORKER_PORT);
  const ouija = await startOuija({ config, temporalAddress, queues, log, ...(workerHttpPort !== undefined ? { workerHttpPort } : {}) });
  if (queues.includes('agents')) {
    const agents = await agentSandboxSummary(config);
    if (agents.refused) log.error({ agentSandbox: agents.line }, `agents: ${agents.line}`);
    else log.info({ agentSandbox: agents.line }, `agents: ${agents.line}`);
  }
  onShutdownSignal(log, () => ouija.stop());
  process.stdout.write(
    `Ouija worker running: queues ${queues.join(' ')}${ouija.hostId ? `, host ${ouija.hostId}` : ''}${ouija.workerUrl ? `, health and metrics on ${ouija.workerUrl}` : ''}\n`,
  );
  await ouija.workers?.done;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run workers only (production split); DATABASE_URL and TEMPORAL_ADDRESS required, WORKER_PORT for /healthz, /readyz, /metrics')
    .option('-q, --queue <queue...>', `task queues to serve (${ALL_QUEUES.join(' ')}); default all`)
    .action((opts: { queue?: string[] }) => workerCommand(opts));
}
