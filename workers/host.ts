/**
 * A host's identity: the name of its own task queues (`ouija-git@<host>`, `ouija-agents@<host>`). It must be
 * the same after a restart (a card whose worktree is here comes back to it) and different for every data
 * directory (two agent hosts on one machine, as in the tests, are two hosts). Default: the machine's host name and
 * a fingerprint of the data directory; `OUIJA_HOST_ID` or `workers.hostId` set it (a pod with a persistent volume).
 */
import os from 'node:os';
import { fingerprint } from '../src/core/cards';
import { HOST_ID } from '../workflows/messages';

export function hostIdFor(config: { dataDir: string; workers: { hostId?: string } }, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.OUIJA_HOST_ID ?? config.workers.hostId;
  if (chosen !== undefined) {
    if (!HOST_ID.test(chosen)) throw new Error(`host ID ${JSON.stringify(chosen)} must match ${HOST_ID} (it names task queues)`);
    return chosen;
  }
  const name = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 60) || 'host';
  return `${name}-${fingerprint(config.dataDir).slice(0, 8)}`;
}
