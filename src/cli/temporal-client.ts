/**
 * Operator commands talk to the Temporal server named by TEMPORAL_ADDRESS (or `temporal.address` in
 * ouija.config.json), defaulting to the embedded dev server `ouija dev` runs on 127.0.0.1:7233.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type OuijaConfig } from '../config';

export const DEFAULT_DEV_ADDRESS = '127.0.0.1:7233';

export async function withTemporalClient<T>(fn: (client: Client, config: OuijaConfig) => Promise<T>, config: OuijaConfig = loadConfig()): Promise<T> {
  const connection = await Connection.connect({ address: config.temporal.address ?? DEFAULT_DEV_ADDRESS });
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace }), config);
  } finally {
    await connection.close();
  }
}
