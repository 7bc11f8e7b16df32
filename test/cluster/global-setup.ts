/**
 * Jest globalSetup of the `cluster` project: one real Temporal cluster (src/temporal/cluster.ts: the Temporal
 * server on its own throwaway Postgres, persistence and SQL visibility) for every file of the project, built on
 * first use (ensureTemporalServer: minutes when the Go caches are cold). OUIJA_TEST_CLUSTER_ADDRESS and
 * OUIJA_TEST_CLUSTER_DATABASE_URL, set here or from outside (then nothing is started), reach the test files
 * through use-cluster.ts; TEMPORAL_ADDRESS and OUIJA_TEST_DATABASE_URL stay the `integration` project's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../src/log';
import { startCluster } from '../../src/temporal/cluster';
import { ensureTemporalServer } from '../../src/temporal/server-install';
import { TEST_DYNAMIC_CONFIG } from './test-dynamic-config';

declare global {
  var __OUIJA_TEST_CLUSTER__: { stop(): Promise<void> } | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.OUIJA_TEST_CLUSTER_ADDRESS) {
    if (!process.env.OUIJA_TEST_CLUSTER_DATABASE_URL) throw new Error('OUIJA_TEST_CLUSTER_ADDRESS is set: set OUIJA_TEST_CLUSTER_DATABASE_URL too (a Postgres URL whose user may create databases)');
    console.log(`\n[ouija cluster] Temporal ${process.env.OUIJA_TEST_CLUSTER_ADDRESS} (OUIJA_TEST_CLUSTER_ADDRESS)`);
    return;
  }
  const started = Date.now();
  // Its own step, at the default log level: a first build takes minutes, and says what it is doing meanwhile.
  const install = await ensureTemporalServer({ log });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-test-cluster-'));
  try {
    const cluster = await startCluster({
      install,
      dir,
      namespace: 'default',
      port: 0,
      postgresPort: 0,
      ui: false,
      durablePostgres: false,
      extraDynamicConfig: TEST_DYNAMIC_CONFIG,
      log: log.child({}, { level: 'warn' }),
    });
    globalThis.__OUIJA_TEST_CLUSTER__ = {
      stop: async () => {
        await cluster.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    process.env.OUIJA_TEST_CLUSTER_ADDRESS = cluster.address;
    process.env.OUIJA_TEST_CLUSTER_DATABASE_URL = cluster.postgresUrl;
    console.log(`\n[ouija cluster] Temporal server ${cluster.install.versions.server} ${cluster.address} on Postgres (started in ${((Date.now() - started) / 1000).toFixed(1)} s, state in ${dir})`);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true }); // startCluster stopped whatever it had started
    throw err;
  }
}
