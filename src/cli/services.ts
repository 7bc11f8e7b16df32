/**
 * The embedded services `ouija dev` and `ouija demo` bring with them: a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set) and, through the database layer, PGlite (unless DATABASE_URL is set).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OuijaConfig } from '../config';
import type { Logger } from '../log';
import { describeSandboxes, sandboxModeOf, sandboxStatus } from '../plugins/agent';
import { generatedSecret, instanceSecretsDir } from '../secrets-dir';
import { ensureTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/dev-server';

export interface TemporalEndpoint {
  address: string;
  /** Web UI base URL when known. */
  uiUrl: string | null;
  /** Stops the server if we started it. */
  stop(): Promise<void>;
  embedded: boolean;
}

export async function temporalFor(config: OuijaConfig, log: Logger, opts: { port?: number; uiPort?: number; persist: boolean }): Promise<TemporalEndpoint> {
  if (config.temporal.address) {
    return { address: config.temporal.address, uiUrl: process.env.OUIJA_TEMPORAL_UI_URL ?? null, stop: async () => undefined, embedded: false };
  }
  const cliPath = await ensureTemporalCli({ log });
  fs.mkdirSync(config.dataDir, { recursive: true });
  const server = await startDevServer({
    cliPath,
    dbFile: opts.persist ? path.join(config.dataDir, 'temporal.sqlite') : undefined,
    port: opts.port,
    uiPort: opts.uiPort,
    namespace: config.temporal.namespace,
    log,
  });
  return { address: server.address, uiUrl: server.uiUrl, stop: () => server.stop(), embedded: true };
}

/**
 * The built-in board's webhook secret: from the environment, else generated once per data directory into
 * its secrets directory outside the data directory (src/secrets-dir.ts); one left in `<data>/secrets/` by an
 * earlier Ouija is moved there.
 */
export function builtinWebhookSecret(config: OuijaConfig, env: NodeJS.ProcessEnv = process.env): { secret: string; file: string | null } {
  if (config.secrets.builtinWebhook) return { secret: config.secrets.builtinWebhook, file: null };
  return generatedSecret(instanceSecretsDir(config.dataDir, env), 'builtin-webhook-secret', path.join(config.dataDir, 'secrets', 'builtin-webhook-secret'));
}

/**
 * Which mode agents run in, for the start-up banner and log: every profile's sandbox (`agent`, `agents.<name>`)
 * and whether bwrap can make one here. `refused` is true when some profile would run sandboxed and cannot.
 */
export async function agentSandboxSummary(config: Pick<OuijaConfig, 'agent' | 'agents'>): Promise<{ line: string; refused: boolean }> {
  const profiles = [
    { name: 'agent', mode: sandboxModeOf(config.agent.sandbox) },
    ...Object.entries(config.agents).map(([name, profile]) => ({ name: `agents.${name}`, mode: sandboxModeOf(profile.sandbox) })),
  ];
  const status = await sandboxStatus(process.env.PATH);
  return { line: describeSandboxes(profiles, status), refused: !status.usable && profiles.some((p) => p.mode === 'bwrap') };
}

export function workflowUiLink(uiUrl: string | null, namespace: string, workflowId: string): string | null {
  return uiUrl ? `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}` : null;
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdownSignal(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping Ouija');
    stop()
      .catch((err) => log.error({ err }, 'error while stopping'))
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
