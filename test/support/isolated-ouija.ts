/**
 * The world one Ouija under test (or under a benchmark) gets to itself: its own Temporal namespace (card IDs come
 * from per-database sequences, so two instances' cards share workflow IDs, and their workers share task queue
 * names), a fresh Postgres database, a throwaway bare git remote, and a configuration pointing at all three.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadConfig, type DeepPartial, type OuijaConfig } from '../../src/config';
import { createBareRemote } from '../../src/cli/local-repo';
import { ensureNamespace, waitForNamespaceReady } from '../../src/temporal/namespace';
import { createTestDatabase, type TestDatabase } from './database';

export interface IsolatedOuija {
  config: OuijaConfig;
  namespace: string;
  database: TestDatabase;
  remote: string;
  /** `remote` and the `extraRemotes` more, all allowed. */
  remotes: string[];
  workDir: string;
}

export async function isolatedOuija(options: {
  address: string;
  prefix: string;
  builtinWebhookSecret: string;
  overrides?: DeepPartial<OuijaConfig>;
  /** The Postgres server for its database (default OUIJA_TEST_DATABASE_URL's). */
  databaseServerUrl?: string;
  /** More bare remotes beside the first (cards on several repositories). */
  extraRemotes?: number;
}): Promise<IsolatedOuija> {
  // Random, not a counter: jest gives every test file a fresh module registry in the same worker process.
  const namespace = `${options.prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: options.address });
  try {
    await ensureNamespace(connection, namespace, 1);
    // A real server serves a new namespace and its search attributes only after its caches refresh.
    await waitForNamespaceReady(connection, namespace);
  } finally {
    await connection.close();
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${options.prefix}-`));
  const remote = await createBareRemote(workDir);
  const remotes = [remote];
  for (let i = 1; i <= (options.extraRemotes ?? 0); i++) {
    const dir = path.join(workDir, `repo-${i}`);
    fs.mkdirSync(dir);
    remotes.push(await createBareRemote(dir));
  }
  const database = await createTestDatabase({ serverUrl: options.databaseServerUrl });
  const config = loadConfig({
    cwd: workDir,
    env: {},
    overrides: {
      dataDir: path.join(workDir, 'data'),
      port: 0,
      databaseUrl: database.url,
      secrets: { builtinWebhook: options.builtinWebhookSecret },
      temporal: { namespace },
      repos: { allow: remotes },
      // Callers drive reconciliation themselves (test/integration/reconcile); a timer would race them.
      reconcileIntervalMs: 0,
      ...options.overrides,
    },
  });
  return { config, namespace, database, remote, remotes, workDir };
}
