/**
 * `ouija cluster` (`npm run cluster`): a real Temporal server on PostgreSQL, natively (no Docker), with its Web UI,
 * until Ctrl-C. Prints the environment that points Ouija at it; its state stays in `<data dir>/cluster`.
 */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { startCluster } from '../temporal/cluster';
import { onShutdownSignal } from './services';

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

export async function clusterCommand(opts: { port?: number; uiPort?: number; ui: boolean; postgresUrl?: string; postgresPort?: number }): Promise<void> {
  const config = loadConfig();
  const dir = path.join(config.dataDir, 'cluster');
  const cluster = await startCluster({ dir, namespace: config.temporal.namespace, port: opts.port, uiPort: opts.uiPort, ui: opts.ui, postgresUrl: opts.postgresUrl, postgresPort: opts.postgresPort, log });
  onShutdownSignal(log, () => cluster.stop());

  const connection = await Connection.connect({ address: cluster.address });
  let stores: string;
  try {
    const info = await connection.workflowService.getClusterInfo({});
    stores = `server ${info.serverVersion}, persistence ${info.persistenceStore}, visibility ${info.visibilityStore}`;
  } finally {
    await connection.close();
  }
  process.stdout.write(
    [
      '',
      `Temporal cluster running (${stores}). Ctrl-C stops all of it.`,
      `TEMPORAL_ADDRESS=${cluster.address}`,
      `TEMPORAL_NAMESPACE=${cluster.namespace}`,
      `DATABASE_URL=${cluster.databaseUrl}`,
      `OUIJA_TEMPORAL_UI_URL=${cluster.uiUrl ?? ''}`,
      `  Web UI    ${cluster.uiUrl ?? '(off: --no-ui)'}`,
      `  State     ${dir} (Postgres data, server config and log; a restart keeps every workflow)`,
      `  Postgres  ${opts.postgresUrl ? redact(opts.postgresUrl) : `own (pid ${cluster.postgresPid()}), passwords in ${path.join(dir, 'cluster.json')}`}`,
      `  Ouija     export the four lines above, then \`npm start\` (or \`ouija worker\` + \`ouija api\`)`,
      '',
    ].join('\n') + '\n',
  );
}

const int = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: ${value}`);
  return n;
};

export function registerClusterCommand(program: Command): void {
  program
    .command('cluster')
    .description('run a real Temporal server on PostgreSQL (persistence and visibility) with its Web UI, natively, until Ctrl-C')
    .option('--port <port>', 'Temporal frontend port (default 7233 when free, else a free one; 0: any free one)', int)
    .option('--ui-port <port>', 'Web UI port (default 8233 when free, else a free one)', int)
    .option('--no-ui', 'no Web UI server')
    .option('--postgres-url <url>', 'use this PostgreSQL server (its user must be able to create databases) instead of starting one')
    .option('--postgres-port <port>', "our own Postgres's port (default: last time's when free, else 5432 when free, else a free one)", int)
    .action((opts) => clusterCommand(opts));
}
