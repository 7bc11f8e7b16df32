/** The HTTP front end: webhooks, the built-in board's API, health. Stateless, so it can be replicated. */
import express from 'express';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Client } from '@temporalio/client';
import type { Database } from '../db';
import type { IngestDeps } from '../ingest';
import type { Logger } from '../log';
import type { WebhookProvider } from '../plugins/kanban/types';
import { agentEventsRouter } from './agent-events-route';
import { apiTokenGuard } from './api-token';
import { boardApiRouter } from './board-api';
import { metricsRouter } from './metrics-route';
import { operatorApiRouter } from './operator-api';
import { webhookRouter } from './webhooks';

export interface HttpAppDeps {
  db: Kysely<Database>;
  temporal: Client;
  ingest: IngestDeps;
  providers: WebhookProvider[];
  maxBodyBytes: number;
  log: Logger;
}

export function createHttpApp(deps: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  // Ready only when both Postgres and Temporal answer: a load balancer then routes webhooks elsewhere.
  app.get('/readyz', async (_req, res) => {
    const { postgres, temporal } = await readinessChecks(deps.db, deps.temporal);
    const ok = postgres === 'ok' && temporal === 'ok';
    res.status(ok ? 200 : 503).json({ ok, postgres, temporal });
  });
  app.use(metricsRouter({ temporal: deps.temporal, log: deps.log }));
  app.use(webhookRouter({ db: deps.db, ingest: deps.ingest, providers: deps.providers, maxBodyBytes: deps.maxBodyBytes, log: deps.log }));
  app.use('/api', apiTokenGuard(process.env.OUIJA_API_TOKEN));
  app.use(agentEventsRouter({ db: deps.db, log: deps.log }));
  app.use(boardApiRouter({ db: deps.db, ingest: deps.ingest, log: deps.log }));
  app.use(operatorApiRouter(deps.ingest));
  return app;
}

const READY_CHECK_DEADLINE_MS = 2_000;

/** Whether Postgres and Temporal answer: 'ok' or what went wrong. Each check has a deadline: a server that is down makes it answer now, not when it is back. */
export async function readinessChecks(db: Kysely<Database>, temporal: Client): Promise<{ postgres: string; temporal: string }> {
  const checks = await Promise.allSettled([
    withinDeadline(sql`select 1`.execute(db), READY_CHECK_DEADLINE_MS),
    withinDeadline(temporal.workflowService.getSystemInfo({}), READY_CHECK_DEADLINE_MS),
  ]);
  const [postgres, temporalState] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : String((c.reason as Error).message)));
  return { postgres: postgres!, temporal: temporalState! };
}

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
