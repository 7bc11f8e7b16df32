/** Turns a built-in board event into the provider-agnostic InboundEvent, reading the card from Postgres. */
import type { Kysely } from 'kysely';
import { cardKey } from '../../../core/cards';
import type { CardInfo, ExternalTrigger } from '../../../core/types';
import { columnRole, getBoard, getCard, type Database } from '../../../db';
import type { InboundEvent } from '../../../ingest/types';
import type { BuiltinEvent } from './events';

export const BUILTIN_SOURCE = 'builtin';

export async function builtinInbound(db: Kysely<Database>, event: BuiltinEvent, deliveryId: string, bodyBytes: number): Promise<InboundEvent> {
  const base = { source: BUILTIN_SOURCE, deliveryId, event: event.type, bodyBytes };
  const board = await getBoard(db, event.boardId);
  if (!board) return { ...base, card: null, trigger: null, ignoredReason: `unknown board ${event.boardId}` };
  const row = await getCard(db, event.cardId);
  if (row && row.boardId !== board.id) return { ...base, card: null, trigger: null, ignoredReason: `card ${event.cardId} is not on board ${board.id}` };
  if (!row && event.type !== 'card.deleted') return { ...base, card: null, trigger: null, ignoredReason: `unknown card ${event.cardId}` };

  const ref = { provider: 'builtin' as const, boardId: board.id, cardId: event.cardId };
  const card: CardInfo = {
    ref,
    key: cardKey(ref),
    title: row?.title ?? '',
    body: row?.body ?? '',
    repo: board.repo,
    ...(board.baseBranch ? { baseBranch: board.baseBranch } : {}),
  };
  let trigger: ExternalTrigger;
  switch (event.type) {
    case 'card.moved': {
      const role = await columnRole(db, board.id, event.column);
      if (!role) return { ...base, card: null, trigger: null, ignoredReason: `unknown column ${event.column}` };
      trigger = { type: 'card.moved', deliveryId, column: role, card };
      break;
    }
    case 'card.edited':
      trigger = { type: 'card.edited', deliveryId, card };
      break;
    case 'card.deleted':
      trigger = { type: 'card.deleted', deliveryId };
      break;
    case 'review.approved':
      trigger = { type: 'review.approved', deliveryId, ...(event.by ? { by: event.by } : {}) };
      break;
    case 'review.changesRequested':
      trigger = { type: 'review.changesRequested', deliveryId, comments: event.comments };
      break;
  }
  return { ...base, card, trigger };
}
