/**
 * Scenario 12, the real Temporal server (cluster) killed and restarted: a cluster of this scenario's own
 * (src/temporal/cluster.ts: the Temporal server on its own Postgres, persistence and SQL visibility), an Ouija on
 * it with its database on the same Postgres, and the flow of restart-under-load.ts: the server process alone is
 * SIGKILLed with the cards in flight (Postgres stays up) and started again on the same ports and database
 * (Cluster.killServer / restartServer). Sizes: `cluster-restart-cards` (30), `cluster-restart-agent-ms` (4000),
 * `cluster-restart-after-ms` (6000), `cluster-restart-down-ms` (3000), `cluster-restart-deadline-s` (240).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../../src/log';
import { startCluster, type Cluster } from '../../../src/temporal/cluster';
import { startHarness, type Harness } from '../../support/ouija-harness';
import { restartUnderLoad } from './restart-under-load';
import { RELIABILITY_SECRETS, size, type Scenario } from './scenario';
import { RESTART_OVERRIDES } from './server-restart';

export const clusterRestart: Scenario = {
  name: 'cluster-restart',
  async run({ params }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-cluster-restart-'));
    fs.chmodSync(dir, 0o755); // as root, Postgres runs as the postgres user, which must enter it
    let cluster: Cluster | undefined;
    let h: Harness | undefined;
    try {
      cluster = await startCluster({ dir: path.join(dir, 'cluster'), namespace: 'default', port: 0, postgresPort: 0, ui: false, log: log.child({}, { level: 'error' }) });
      const running = cluster;
      h = await startHarness({ ...RESTART_OVERRIDES, secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin } }, { temporalAddress: cluster.address, databaseServerUrl: cluster.postgresUrl });
      return await restartUnderLoad({
        label: '12 cluster restart',
        harness: h,
        temporal: { kind: 'Temporal server', address: running.address, kill: () => running.killServer(), start: () => running.restartServer() },
        sizes: {
          cards: size(params, 'cluster-restart-cards', 30),
          agentMs: size(params, 'cluster-restart-agent-ms', 4_000),
          afterMs: size(params, 'cluster-restart-after-ms', 6_000),
          downMs: size(params, 'cluster-restart-down-ms', 3_000),
          deadlineS: size(params, 'cluster-restart-deadline-s', 240),
          killWhenAgents: size(params, 'cluster-restart-kill-when-agents', 4),
          killWaitS: size(params, 'cluster-restart-kill-wait-s', 60),
        },
      });
    } finally {
      await h?.stop();
      await cluster?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
