/** `ouija dev` (what `npm start` runs): everything embedded, in one process, until Ctrl-C. */
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { log } from '../log';
import { startOuija } from '../../workers/all-in-one';
import { requireTokenOffLoopback } from './production';
import { agentSandboxSummary, builtinWebhookSecret, onShutdownSignal, temporalFor } from './services';

export async function devCommand(): Promise<void> {
  const base = loadConfig();
  requireTokenOffLoopback(base.host, process.env.OUIJA_API_TOKEN);
  const { secret, file } = builtinWebhookSecret(base);
  const config = { ...base, secrets: { ...base.secrets, builtinWebhook: secret } };
  const temporal = await temporalFor(config, log, { port: 7233, uiPort: 8233, persist: true });
  let ouija;
  try {
    ouija = await startOuija({ config, temporalAddress: temporal.address, http: true, log });
  } catch (err) {
    await temporal.stop();
    throw err;
  }
  const running = ouija;
  const agents = await agentSandboxSummary(config);
  onShutdownSignal(log, async () => {
    await running.stop();
    await temporal.stop();
  });
  const lines = [
    '',
    'Ouija is running. Ctrl-C stops all of it.',
    `  HTTP           ${running.url}   (POST /webhooks/<provider>, /api/…, GET /healthz, /readyz, /metrics)`,
    `  Temporal       ${temporal.address}${temporal.embedded ? ' (embedded dev server)' : ''}`,
    `  Temporal UI    ${temporal.uiUrl ?? '(not known; set OUIJA_TEMPORAL_UI_URL)'}`,
    `  Postgres       ${running.databaseKind === 'pglite' ? `embedded PGlite in ${config.dataDir}/pglite` : 'DATABASE_URL'}`,
    `  Data           ${config.dataDir}`,
    `  Webhook secret ${file ? `built-in board: ${file}` : 'built-in board: OUIJA_BUILTIN_WEBHOOK_SECRET'}`,
    `  Agents         ${agents.line}`,
    `  Repositories   ${config.repos.allow.length ? config.repos.allow.join(', ') : 'none allowed yet: add repos.allow to ouija.config.json'}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (agents.refused) log.error({ agents: agents.line }, 'agents that run sandboxed will be refused: install bubblewrap, or set "sandbox": "none"');
  await running.workers?.done;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run everything embedded: Temporal dev server, Postgres (PGlite unless DATABASE_URL), workers, HTTP')
    .action(() => devCommand());
}
