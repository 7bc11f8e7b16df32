/**
 * What a card's agents are doing and what they cost:
 * - `GET /api/cards/:cardKey/events`: the agents' progress events as server-sent events, live. The stream
 *   polls Postgres from a cursor (`?after=<seq>`, or the Last-Event-ID an EventSource sends when it
 *   reconnects), so it works whichever process runs the agent, and with PGlite. With `Accept:
 *   application/json` it answers once: `{ events, next }`.
 * - `GET /api/cards/:cardKey/usage`: tokens and cost summed over the card's agent runs.
 */
import express, { type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { InvalidCardRefError, parseCardKey } from '../core/cards';
import { cardTotals, listCardEvents, type CardAgentEvent, type Database } from '../db';
import type { Logger } from '../log';

export interface AgentEventsRouteDeps {
  db: Kysely<Database>;
  log: Logger;
  /** How often an open stream looks for new events (default 500 ms). */
  pollMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream (default 15 s). */
  keepAliveMs?: number;
}

const PAGE = 500;

export function agentEventsRouter(deps: AgentEventsRouteDeps): express.Router {
  const router = express.Router();
  const pollMs = deps.pollMs ?? 500;
  const keepAliveMs = deps.keepAliveMs ?? 15_000;

  router.get('/api/cards/:cardKey/events', async (req, res) => {
    const cardKey = cardKeyParam(req, res);
    const after = cursor(req);
    if (cardKey === null) return;
    if (after === null) return void res.status(400).json({ error: 'after / Last-Event-ID must be a non-negative integer' });
    try {
      if (req.accepts(['text/event-stream', 'application/json']) === 'application/json') {
        const events = await listCardEvents(deps.db, cardKey, { after, limit: PAGE });
        return void res.json({ events, next: events.at(-1)?.seq ?? after });
      }
      await stream(deps.db, cardKey, after, res, { pollMs, keepAliveMs });
    } catch (err) {
      deps.log.error({ err, cardKey }, 'agent events route error');
      if (!res.headersSent) res.status(500).json({ error: 'internal error' });
      else res.end();
    }
  });

  router.get('/api/cards/:cardKey/usage', async (req, res) => {
    const cardKey = cardKeyParam(req, res);
    if (cardKey === null) return;
    try {
      res.json({ card: cardKey, usage: await cardTotals(deps.db, cardKey) });
    } catch (err) {
      deps.log.error({ err, cardKey }, 'card usage route error');
      res.status(500).json({ error: 'internal error' });
    }
  });

  return router;
}

/** Writes the events after `after`, then every new one as it is stored, until the client goes away. */
async function stream(
  db: Kysely<Database>,
  cardKey: string,
  after: number,
  res: Response,
  timing: { pollMs: number; keepAliveMs: number },
): Promise<void> {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no', // nginx: do not buffer the stream
  });
  res.flushHeaders();
  res.write(`retry: ${Math.max(1000, timing.pollMs * 2)}\n\n`);

  let open = true;
  // The response's 'close': the client went away (or the server is shutting its connections).
  const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
  void closed.then(() => (open = false));
  let lastWrite = Date.now();
  let seq = after;
  while (open) {
    const events = await listCardEvents(db, cardKey, { after: seq, limit: PAGE });
    for (const event of events) res.write(sseMessage(event));
    if (events.length > 0) {
      seq = events.at(-1)!.seq;
      lastWrite = Date.now();
    } else if (Date.now() - lastWrite >= timing.keepAliveMs) {
      res.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }
    // A full page means more are waiting: read on at once.
    if (events.length < PAGE) await Promise.race([closed, delay(timing.pollMs)]);
  }
  res.end();
}

/** One SSE message: `id` is the cursor a reconnecting EventSource sends back as Last-Event-ID. */
export function sseMessage(event: CardAgentEvent): string {
  return `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`;
}

function cardKeyParam(req: Request, res: Response): string | null {
  const key = String(req.params.cardKey);
  try {
    parseCardKey(key);
    return key;
  } catch (err) {
    if (!(err instanceof InvalidCardRefError)) throw err;
    res.status(400).json({ error: err.message });
    return null;
  }
}

/** `?after=` wins over Last-Event-ID; neither = from the start. Null when malformed. */
function cursor(req: Request): number | null {
  const raw = typeof req.query.after === 'string' ? req.query.after : req.get('last-event-id');
  if (raw === undefined || raw === '') return 0;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
