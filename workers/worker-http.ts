/**
 * A worker process's own HTTP endpoint (`ouija worker`, port WORKER_PORT): /healthz (the process answers),
 * /readyz (Postgres and Temporal answer, and every worker of the process is running) and /metrics (Ouija's and the
 * Temporal SDK's, as the API serves them). It carries no board API and no webhooks: a worker is not a front end.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db';
import { readinessChecks } from '../src/http/app';
import { metricsRouter } from '../src/http/metrics-route';
import type { Logger } from '../src/log';
import type { RunningWorkers } from './queues';

export interface WorkerHttpOptions {
  host: string;
  port: number;
  db: Kysely<Database>;
  temporal: Client;
  workers: () => RunningWorkers | null;
  log: Logger;
}

export async function startWorkerHttp(options: WorkerHttpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/readyz', async (_req, res) => {
    const { postgres, temporal } = await readinessChecks(options.db, options.temporal);
    const running = options.workers()?.workers ?? [];
    const states = running.map((w) => `${w.options.taskQueue}: ${w.getState()}`);
    const workersOk = running.length > 0 && running.every((w) => w.getState() === 'RUNNING');
    const ok = postgres === 'ok' && temporal === 'ok' && workersOk;
    res.status(ok ? 200 : 503).json({ ok, postgres, temporal, workers: workersOk ? 'ok' : states.join(', ') || 'none' });
  });
  app.use(metricsRouter({ temporal: options.temporal, log: options.log }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const url = `http://${urlHost(options.host)}:${(server.address() as AddressInfo).port}`;
  options.log.info({ url }, 'worker health and metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A listener address as a URL host: IPv6 in brackets; "any address" shown as loopback, where a local client reaches it. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
