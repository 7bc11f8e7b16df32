/** The built-in board as the board activities see it: moves and comments straight in Postgres. */
import type { Kysely } from 'kysely';
import { addComment, moveCardToRole, type Database } from '../../../db';
import type { BoardClient } from '../types';

export function builtinBoardClient(db: Kysely<Database>): BoardClient {
  return {
    async moveCard(card, role) {
      await moveCardToRole(db, { cardId: card.ref.cardId, role });
    },
    async comment(card, commentKey, text) {
      await addComment(db, { cardId: card.ref.cardId, commentKey, body: text });
    },
  };
}
