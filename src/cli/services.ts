/**
 * The embedded services `ouija dev` and `ouija demo` bring with them: a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set) and, through the database layer, PGlite (unless DATABASE_URL is set).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { OuijaConfig } from '../config';
import type { Logger } from '../log';
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

/** The built-in board's webhook secret: from the environment, else generated once per data directory. */
export function builtinWebhookSecret(config: OuijaConfig): { secret: string; file: string | null } {
  if (config.secrets.builtinWebhook) return { secret: config.secrets.builtinWebhook, file: null };
  const file = path.join(config.dataDir, 'secrets', 'builtin-webhook-secret');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return { secret: fs.readFileSync(file, 'utf8').trim(), file };
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
