/**
 * POST /webhooks/<provider>: raw body with an explicit size limit → verify → parse → ingest.
 * Every rejection (413, 401, 400) is logged with the delivery ID and written to `webhook_rejections`;
 * irrelevant events get a 202 and a log line; a down dependency gets a 503 so the sender retries.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { isConnectionError, recordRejection, type Database } from '../db';
import { ingest, ServiceUnavailableError, type IngestDeps } from '../ingest';
import type { Logger } from '../log';
import { countDelivery } from '../metrics';
import { MalformedPayloadError, type WebhookProvider } from '../plugins/kanban/types';

export interface WebhookRouteDeps {
  db: Kysely<Database>;
  ingest: IngestDeps;
  providers: WebhookProvider[];
  maxBodyBytes: number;
  log: Logger;
}

export function webhookRouter(deps: WebhookRouteDeps): express.Router {
  const router = express.Router();
  for (const provider of deps.providers) {
    router.post(
      `/webhooks/${provider.source}`,
      express.raw({ type: () => true, limit: deps.maxBodyBytes }),
      (req: Request, res: Response) => void handle(deps, provider, req, res),
      (err: unknown, req: Request, res: Response, next: NextFunction) => void bodyError(deps, provider, err, req, res, next),
    );
    // Some senders (Trello) probe the callback URL with HEAD on registration.
    router.head(`/webhooks/${provider.source}`, (_req, res) => void res.sendStatus(200));
  }
  return router;
}

async function handle(deps: WebhookRouteDeps, provider: WebhookProvider, req: Request, res: Response): Promise<void> {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const deliveryId = provider.deliveryId(req.headers);
  const log = deps.log.child({ source: provider.source, deliveryId });
  const reject = (status: number, reason: string) => rejectDelivery(deps, log, { source: provider.source, deliveryId, status, reason, bodyBytes: raw.length, remoteAddr: req.ip }, res);

  if (!(await provider.verify(raw, req.headers))) return reject(401, 'signature missing or invalid');
  let event;
  try {
    event = await provider.toEvent(raw, req.headers);
  } catch (err) {
    if (err instanceof MalformedPayloadError) return reject(400, err.message);
    // ingest() counts its own outcomes, 503s included; this 503 happened before it was reached.
    countDelivery(provider.source, 'unavailable');
    return unavailable(log, res, err);
  }
  try {
    const outcome = await ingest(deps.ingest, event);
    res.status(outcome.status === 'accepted' ? 200 : (provider.ignoredStatus?.(event) ?? 202)).json({ deliveryId: event.deliveryId, ...outcome });
  } catch (err) {
    unavailable(log, res, err);
  }
}

async function bodyError(deps: WebhookRouteDeps, provider: WebhookProvider, err: unknown, req: Request, res: Response, next: NextFunction): Promise<void> {
  const e = err as { type?: string; status?: number; length?: number; message?: string };
  const log = deps.log.child({ source: provider.source, deliveryId: provider.deliveryId(req.headers) });
  const input = { source: provider.source, deliveryId: provider.deliveryId(req.headers), bodyBytes: e.length ?? null, remoteAddr: req.ip };
  if (e.type === 'entity.too.large') return rejectDelivery(deps, log, { ...input, status: 413, reason: `body over ${deps.maxBodyBytes} bytes` }, res);
  if (e.status && e.status >= 400 && e.status < 500) return rejectDelivery(deps, log, { ...input, status: 400, reason: e.message ?? 'unreadable body' }, res);
  next(err);
}

interface Rejection {
  source: string;
  deliveryId: string | undefined;
  status: number;
  reason: string;
  bodyBytes: number | null;
  remoteAddr: string | undefined;
}

async function rejectDelivery(deps: WebhookRouteDeps, log: Logger, r: Rejection, res: Response): Promise<void> {
  log.warn({ status: r.status, reason: r.reason, bodyBytes: r.bodyBytes }, 'webhook rejected');
  countDelivery(r.source, `rejected_${r.status}`);
  try {
    await recordRejection(deps.db, { source: r.source, deliveryId: r.deliveryId ?? null, httpStatus: r.status, reason: r.reason, bodyBytes: r.bodyBytes, remoteAddr: r.remoteAddr ?? null });
  } catch (err) {
    log.error({ err }, 'could not record the rejection in Postgres (it is in this log)');
  }
  res.status(r.status).json({ error: r.reason, deliveryId: r.deliveryId ?? null });
}

function unavailable(log: Logger, res: Response, err: unknown): void {
  // Reading the board before ingest can meet a Postgres outage too: say so, not "internal error".
  const message =
    err instanceof ServiceUnavailableError ? err.message : isConnectionError(err) ? `database unavailable: ${(err as Error).message}` : `internal error: ${(err as Error).message}`;
  log.error({ err }, 'delivery not accepted; sender should retry');
  res.status(503).set('Retry-After', '5').json({ error: message });
}
