/** `ouija setup`: prepares a real Temporal cluster's namespace for Ouija (registered, with its search attributes). */
import type { Command } from 'commander';
import { ensureNamespace, waitForNamespaceReady } from '../temporal/namespace';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { withTemporalClient } from './temporal-client';

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description("register the namespace and Ouija's search attributes on a Temporal cluster (ouija dev does this itself)")
    .action(() =>
      withTemporalClient(async (client, config) => {
        await ensureNamespace(client.connection, config.temporal.namespace);
        await waitForNamespaceReady(client.connection, config.temporal.namespace);
        process.stdout.write(`namespace ${config.temporal.namespace} ready with search attributes ${Object.keys(SEARCH_ATTRIBUTES).join(', ')}\n`);
      }),
    );
}
