/**
 * The built-in board's HTTP API. Every change that matters to a card is turned into a built-in board event
 * and sent through the same ingestion path as any provider's webhook.
 */
import crypto from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { cardKey } from '../core/cards';
import { repoProblem } from '../core/repos';
import {
  cardTotals,
  createBoard,
  createCard,
  getBoard,
  getCard,
  listCards,
  listColumns,
  listComments,
  moveCard,
  InvalidColumnError,
  NotFoundError,
  VersionConflictError,
  type Database,
} from '../db';
import { ingest, ServiceUnavailableError, type IngestDeps } from '../ingest';
import type { Logger } from '../log';
import { builtinInbound, type BuiltinEvent } from '../plugins/kanban/builtin';

export interface BoardApiDeps {
  db: Kysely<Database>;
  ingest: IngestDeps;
  log: Logger;
}

const newBoard = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  name: z.string().min(1).max(200),
  repo: z.string().min(1).max(500),
  baseBranch: z.string().regex(/^[A-Za-z0-9._/-]{1,100}$/).optional(),
});
/** Postgres text cannot hold NUL, and a card travels in every workflow input: refuse it up front. */
const noNul = (text: string) => !text.includes('\u0000');
/**
 * A card's body travels in the workflow's input and in every effect: GitHub's own limit (65,536 characters) keeps
 * histories far from Temporal's payload limits.
 */
export const MAX_CARD_BODY = 65_536;
const newCard = z.object({
  title: z.string().min(1).max(1000).refine(noNul, 'title may not contain NUL characters'),
  body: z.string().max(MAX_CARD_BODY).refine(noNul, 'body may not contain NUL characters').default(''),
});
const move = z.object({ column: z.string().min(1).max(64), expectedVersion: z.number().int().positive() });
const approve = z.object({ by: z.string().max(200).optional() });
const changes = z.object({
  comments: z.array(z.object({ author: z.string().min(1).max(200), body: z.string().min(1).max(100_000) })).min(1).max(500),
});

export function boardApiRouter(deps: BoardApiDeps): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: '256kb' }));
  // Body-parser errors (too large, not JSON) answered as JSON like every other error of this API.
  router.use((err: unknown, _req: Request, res: Response, next: express.NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') return void res.status(413).json({ error: 'request body too large' });
    if (e.status && e.status >= 400 && e.status < 500) return void res.status(400).json({ error: e.message ?? 'unreadable request body' });
    next(err);
  });
  const { db } = deps;

  router.post('/api/boards', route(deps, async (req, res) => {
    const input = newBoard.parse(req.body);
    const problem = repoProblem(input.repo);
    if (problem) return void res.status(400).json({ error: `repo: ${problem}` });
    res.status(201).json(await createBoard(db, input));
  }));

  router.get('/api/boards/:boardId', route(deps, async (req, res) => {
    const board = await getBoard(db, String(req.params.boardId));
    if (!board) return void res.status(404).json({ error: 'no such board' });
    res.json({ board, columns: await listColumns(db, board.id), cards: await listCards(db, board.id) });
  }));

  router.post('/api/boards/:boardId/cards', route(deps, async (req, res) => {
    const input = newCard.parse(req.body);
    const board = await getBoard(db, String(req.params.boardId));
    if (!board) return void res.status(404).json({ error: 'no such board' });
    res.status(201).json(await createCard(db, { boardId: board.id, ...input }));
  }));

  router.get('/api/cards/:cardId', route(deps, async (req, res) => {
    const card = await getCard(db, String(req.params.cardId));
    if (!card) return void res.status(404).json({ error: 'no such card' });
    // usage: tokens and cost of every agent run on this card so far.
    const usage = await cardTotals(db, cardKey({ provider: 'builtin', boardId: card.boardId, cardId: card.id }));
    res.json({ ...card, comments: await listComments(db, card.id), usage });
  }));

  // A move is a compare-and-set on the card's version: of two racing moves one wins, the other gets 409.
  router.post('/api/cards/:cardId/move', route(deps, async (req, res) => {
    const input = move.parse(req.body);
    const cardId = String(req.params.cardId);
    const card = await moveCard(db, { cardId, toColumn: input.column, expectedVersion: input.expectedVersion });
    const event: BuiltinEvent = { type: 'card.moved', boardId: card.boardId, cardId, column: input.column };
    const dispatch = await dispatchEvent(deps, event, `move:${cardId}:v${card.version}`);
    res.json({ card, dispatch });
  }));

  router.post('/api/cards/:cardId/approve', route(deps, async (req, res) => {
    const input = approve.parse(req.body ?? {});
    const card = await requireCard(db, String(req.params.cardId));
    const event: BuiltinEvent = { type: 'review.approved', boardId: card.boardId, cardId: card.id, ...(input.by ? { by: input.by } : {}) };
    res.json({ dispatch: await dispatchEvent(deps, event, deliveryIdFrom(req, 'approve', card.id)) });
  }));

  router.post('/api/cards/:cardId/request-changes', route(deps, async (req, res) => {
    const input = changes.parse(req.body);
    const card = await requireCard(db, String(req.params.cardId));
    const event: BuiltinEvent = { type: 'review.changesRequested', boardId: card.boardId, cardId: card.id, comments: input.comments };
    res.json({ dispatch: await dispatchEvent(deps, event, deliveryIdFrom(req, 'changes', card.id)) });
  }));

  return router;
}

async function dispatchEvent(deps: BoardApiDeps, event: BuiltinEvent, deliveryId: string) {
  const inbound = await builtinInbound(deps.db, event, deliveryId, 0);
  return ingest(deps.ingest, inbound);
}

/** A client may make approve/request-changes idempotent with an Idempotency-Key header. */
function deliveryIdFrom(req: Request, action: string, cardId: string): string {
  const key = req.get('idempotency-key');
  if (key && /^[A-Za-z0-9_.:-]{1,100}$/.test(key)) return `${action}:${cardId}:${key}`;
  return `${action}:${cardId}:${crypto.randomUUID()}`;
}

async function requireCard(db: Kysely<Database>, cardId: string) {
  const card = await getCard(db, cardId);
  if (!card) throw new NotFoundError('card', cardId);
  return card;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Maps domain errors to HTTP statuses in one place. */
function route(deps: BoardApiDeps, handler: Handler): Handler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      if (err instanceof z.ZodError) return void res.status(400).json({ error: z.prettifyError(err) });
      if (err instanceof VersionConflictError) return void res.status(409).json({ error: err.message, currentVersion: err.currentVersion });
      if (err instanceof NotFoundError) return void res.status(404).json({ error: err.message });
      if (err instanceof InvalidColumnError) return void res.status(400).json({ error: err.message });
      if (err instanceof ServiceUnavailableError) return void res.status(503).set('Retry-After', '5').json({ error: err.message });
      deps.log.error({ err }, 'board API error');
      res.status(500).json({ error: 'internal error' });
    }
  };
}
