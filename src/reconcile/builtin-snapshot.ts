/** The built-in board's cards in working and review columns, straight from Postgres (one query). */
import type { Kysely } from 'kysely';
import { cardKey } from '../core/cards';
import type { Database } from '../db';
import { BUILTIN_SOURCE } from '../plugins/kanban/builtin';
import type { BoardSnapshot } from './types';

export function builtinBoardSnapshot(db: Kysely<Database>): BoardSnapshot {
  return {
    source: BUILTIN_SOURCE,
    async list() {
      const rows = await db
        .selectFrom('cards')
        .innerJoin('boards', 'boards.id', 'cards.board_id')
        .innerJoin('board_columns', (join) =>
          join.onRef('board_columns.board_id', '=', 'cards.board_id').onRef('board_columns.key', '=', 'cards.column_key'),
        )
        .select([
          'cards.id as cardId',
          'cards.board_id as boardId',
          'cards.title',
          'cards.body',
          'cards.version',
          'cards.updated_at as updatedAt',
          'boards.repo',
          'boards.base_branch as baseBranch',
          'board_columns.role',
        ])
        .where('board_columns.role', 'in', ['working', 'review'])
        .orderBy('cards.board_id')
        .orderBy('cards.id')
        .execute();
      return rows.map((row) => {
        const ref = { provider: 'builtin' as const, boardId: row.boardId, cardId: row.cardId };
        return {
          card: {
            ref,
            key: cardKey(ref),
            title: row.title,
            body: row.body,
            repo: row.repo,
            ...(row.baseBranch ? { baseBranch: row.baseBranch } : {}),
          },
          role: row.role,
          // Every write to a built-in card bumps its compare-and-set version.
          version: `v${row.version}`,
          changedAt: row.updatedAt,
        };
      });
    },
  };
}
