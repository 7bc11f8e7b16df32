/**
 * An Ouija process that runs only the agents worker: the recorder's crash scenario starts it, waits until it
 * is running an agent, and SIGKILLs it, so that the next attempt is Temporal's retry after a heartbeat timeout.
 * Takes the running Ouija's configuration as JSON in OUIJA_RECORDER_CONFIG; prints `ready` once polling.
 */
import type { OuijaConfig } from '../../src/config';
import { log } from '../../src/log';
import { startOuija } from '../../workers/all-in-one';

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OUIJA_RECORDER_CONFIG ?? 'null') as OuijaConfig | null;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!config || !temporalAddress) throw new Error('OUIJA_RECORDER_CONFIG and TEMPORAL_ADDRESS must be set');
  await startOuija({ config, temporalAddress, queues: ['agents'], log });
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  log.error({ err }, 'agent worker failed to start');
  process.exit(1);
});
