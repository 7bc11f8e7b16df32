/**
 * What `ouija worker` and `ouija api` require before they start, because they run split across processes and
 * machines: one shared Postgres (a private embedded PGlite per process would split the delivery log, the agent runs
 * and the built-in board into pieces that never meet), a Temporal address, and, for an HTTP listener any other
 * machine can reach, an API token (the board API can move cards and so start agents).
 */
import net from 'node:net';
import type { OuijaConfig } from '../config';

export class ProductionConfigError extends Error {
  override name = 'ProductionConfigError';
}

export function requireSharedServices(command: 'worker' | 'api', config: OuijaConfig): { temporalAddress: string } {
  if (!config.databaseUrl) {
    throw new ProductionConfigError(
      `DATABASE_URL is required for \`ouija ${command}\`: a split deployment's processes must share one Postgres ` +
        '(without it each process would open a private embedded database). Use `ouija dev` for everything in one process.',
    );
  }
  if (!config.temporal.address) {
    throw new ProductionConfigError(`TEMPORAL_ADDRESS is required for \`ouija ${command}\` (use \`ouija dev\` for everything embedded)`);
  }
  return { temporalAddress: config.temporal.address };
}

/** Whether `host` is a loopback address (or `localhost`): only this machine can connect to it. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const family = net.isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host) || host.toLowerCase() === '::ffff:127.0.0.1';
  return false;
}

/** An HTTP listener that other machines can reach must have OUIJA_API_TOKEN set. */
export function requireTokenOffLoopback(host: string, token: string | undefined): void {
  if (isLoopback(host) || (token !== undefined && token.length > 0)) return;
  throw new ProductionConfigError(
    `HOST=${host} lets other machines reach the board API, which moves cards and starts agents: set OUIJA_API_TOKEN ` +
      '(clients send `Authorization: Bearer <token>`), or listen on 127.0.0.1.',
  );
}

/** A port from the environment: an integer 0–65535, or a clear error naming the variable. */
export function portFrom(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ProductionConfigError(`${name} must be a port number (0–65535), not ${JSON.stringify(value)}`);
  return port;
}
