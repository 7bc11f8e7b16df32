/**
 * The built-in board: boards, their columns, cards and card comments. Card moves are compare-and-set on
 * `cards.version`, so two writers can never silently overwrite each other (effects are at-least-once).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ColumnRole } from '../core/types';
import type { BoardColumnsTable, BoardsTable, CardCommentsTable, CardsTable, Database } from './schema';
import {
  AlreadyExistsError,
  InvalidColumnError,
  InvalidIdError,
  NotFoundError,
  VersionConflictError,
  isForeignKeyViolation,
  isUniqueViolation,
} from './errors';

export interface Board {
  id: string;
  name: string;
  repo: string;
  baseBranch: string | null;
  createdAt: Date;
}

export interface BoardColumn {
  boardId: string;
  key: string;
  name: string;
  role: ColumnRole;
  position: number;
}

export interface Card {
  id: string;
  boardId: string;
  title: string;
  body: string;
  columnKey: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CardComment {
  id: number;
  cardId: string;
  commentKey: string;
  body: string;
  createdAt: Date;
}

export interface ColumnSpec {
  key: string;
  name: string;
  role: ColumnRole;
}

export const DEFAULT_COLUMNS: readonly ColumnSpec[] = [
  { key: 'backlog', name: 'Backlog', role: 'other' },
  { key: 'in-progress', name: 'In progress', role: 'working' },
  { key: 'review', name: 'Review', role: 'review' },
  { key: 'done', name: 'Done', role: 'done' },
];

/** Same alphabet as card keys (src/core/cards.ts); the schema checks it too. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,128}$/;
/** Conflicts a system move tolerates before giving up (each one means another writer just succeeded). */
const MOVE_ATTEMPTS = 20;

type Db = Kysely<Database>;

// ---------------------------------------------------------------------------------------------
// Boards and columns

/**
 * Creates a board with its columns. Without an `id`, one is generated (`b<n>`); a generated id can collide
 * with one a client chose earlier, so a collision just draws the next one.
 */
export async function createBoard(
  db: Db,
  input: { id?: string; name: string; repo: string; baseBranch?: string; columns?: readonly ColumnSpec[] },
): Promise<Board> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertBoard(db, input);
    } catch (error) {
      if (input.id !== undefined || !isUniqueViolation(error) || attempt >= 20) throw error;
    }
  }
}

async function insertBoard(
  db: Db,
  input: { id?: string; name: string; repo: string; baseBranch?: string; columns?: readonly ColumnSpec[] },
): Promise<Board> {
  if (input.id !== undefined) assertSafeId('board', input.id);
  const columns = input.columns ?? DEFAULT_COLUMNS;
  assertValidColumns(input.id ?? '(new board)', columns);
  try {
    return await db.transaction().execute(async (trx) => {
      const board = await trx
        .insertInto('boards')
        .values({ id: input.id, name: input.name, repo: input.repo, base_branch: input.baseBranch ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('board_columns')
        .values(columns.map((c, position) => ({ board_id: board.id, key: c.key, name: c.name, role: c.role, position })))
        .execute();
      return toBoard(board);
    });
  } catch (error) {
    if (input.id !== undefined && isUniqueViolation(error)) throw new AlreadyExistsError('board', input.id);
    throw error;
  }
}

export async function getBoard(db: Db, id: string): Promise<Board | undefined> {
  const row = await db.selectFrom('boards').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toBoard(row);
}

export async function listBoards(db: Db): Promise<Board[]> {
  const rows = await db.selectFrom('boards').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(toBoard);
}

/** The board's columns in display order (empty when the board does not exist). */
export async function listColumns(db: Db, boardId: string): Promise<BoardColumn[]> {
  const rows = await db.selectFrom('board_columns').selectAll().where('board_id', '=', boardId).orderBy('position').execute();
  return rows.map(toColumn);
}

export async function columnRole(db: Db, boardId: string, columnKey: string): Promise<ColumnRole | undefined> {
  const row = await db
    .selectFrom('board_columns')
    .select('role')
    .where('board_id', '=', boardId)
    .where('key', '=', columnKey)
    .executeTakeFirst();
  return row?.role;
}

// ---------------------------------------------------------------------------------------------
// Cards

/** Creates a card in `columnKey`, or in the board's first column (backlog on a default board). */
export async function createCard(
  db: Db,
  input: { id?: string; boardId: string; title: string; body: string; columnKey?: string },
): Promise<Card> {
  if (input.id !== undefined) assertSafeId('card', input.id);
  const columns = await listColumns(db, input.boardId);
  const first = columns[0];
  if (first === undefined) throw new NotFoundError('board', input.boardId);
  const columnKey = input.columnKey ?? first.key;
  if (!columns.some((c) => c.key === columnKey)) throw new InvalidColumnError(input.boardId, columnKey);
  try {
    const row = await db
      .insertInto('cards')
      .values({ id: input.id, board_id: input.boardId, title: input.title, body: input.body, column_key: columnKey })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCard(row);
  } catch (error) {
    if (input.id !== undefined && isUniqueViolation(error)) throw new AlreadyExistsError('card', input.id);
    throw error;
  }
}

export async function getCard(db: Db, id: string): Promise<Card | undefined> {
  const row = await db.selectFrom('cards').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toCard(row);
}

export async function listCards(db: Db, boardId: string): Promise<Card[]> {
  const rows = await db
    .selectFrom('cards')
    .selectAll()
    .where('board_id', '=', boardId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toCard);
}

/**
 * Moves a card if it is still at `expectedVersion` (one UPDATE … WHERE version = expected RETURNING).
 * Returns the card at version + 1. Throws VersionConflictError (with the current version) when another
 * write got there first, NotFoundError for an unknown card, InvalidColumnError for a column not on its board.
 */
export async function moveCard(db: Db, input: { cardId: string; toColumn: string; expectedVersion: number }): Promise<Card> {
  const row = await db
    .updateTable('cards')
    .set({ column_key: input.toColumn, version: sql`version + 1`, updated_at: sql`now()` })
    .where('id', '=', input.cardId)
    .where('version', '=', input.expectedVersion)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('board_columns')
          .select(sql`1`.as('one'))
          .whereRef('board_columns.board_id', '=', 'cards.board_id')
          .where('board_columns.key', '=', input.toColumn),
      ),
    )
    .returningAll()
    .executeTakeFirst();
  if (row) return toCard(row);

  // Nothing updated: find out why. Versions only grow, so an unchanged version means the column was the cause.
  const current = await getCard(db, input.cardId);
  if (!current) throw new NotFoundError('card', input.cardId);
  if ((await columnRole(db, current.boardId, input.toColumn)) === undefined) {
    throw new InvalidColumnError(current.boardId, input.toColumn);
  }
  throw new VersionConflictError(input.cardId, input.expectedVersion, current.version);
}

/**
 * The system's own move: puts the card in the board's first column with `role`. Idempotent: a card already
 * in a column with that role stays where it is ({ moved: false }). Retries the compare-and-set on conflicts.
 */
export async function moveCardToRole(db: Db, input: { cardId: string; role: ColumnRole }): Promise<{ moved: boolean; card: Card }> {
  let lastConflict: VersionConflictError | undefined;
  for (let attempt = 0; attempt < MOVE_ATTEMPTS; attempt++) {
    const card = await getCard(db, input.cardId);
    if (!card) throw new NotFoundError('card', input.cardId);
    const columns = await listColumns(db, card.boardId);
    if (columns.find((c) => c.key === card.columnKey)?.role === input.role) return { moved: false, card };
    const target = columns.find((c) => c.role === input.role);
    if (!target) throw new InvalidColumnError(card.boardId, `(a column with role ${input.role})`);
    try {
      return { moved: true, card: await moveCard(db, { cardId: card.id, toColumn: target.key, expectedVersion: card.version }) };
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      lastConflict = error;
    }
  }
  throw lastConflict ?? new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------
// Comments

/** Idempotent on (card, commentKey): a repeat keeps the first comment and returns { created: false }. */
export async function addComment(db: Db, input: { cardId: string; commentKey: string; body: string }): Promise<{ created: boolean }> {
  try {
    const inserted = await db
      .insertInto('card_comments')
      .values({ card_id: input.cardId, comment_key: input.commentKey, body: input.body })
      .onConflict((oc) => oc.columns(['card_id', 'comment_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    return { created: inserted !== undefined };
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new NotFoundError('card', input.cardId);
    throw error;
  }
}

export async function listComments(db: Db, cardId: string): Promise<CardComment[]> {
  const rows = await db.selectFrom('card_comments').selectAll().where('card_id', '=', cardId).orderBy('id').execute();
  return rows.map(toComment);
}

// ---------------------------------------------------------------------------------------------

function assertSafeId(entity: string, id: string): void {
  if (!SAFE_ID.test(id)) throw new InvalidIdError(`${entity} ID ${JSON.stringify(id)} is not of the form ${SAFE_ID}`);
}

function assertValidColumns(boardId: string, columns: readonly ColumnSpec[]): void {
  if (columns.length === 0) throw new InvalidColumnError(boardId, '(none: a board needs at least one column)');
  const seen = new Set<string>();
  for (const { key } of columns) {
    if (key === '' || seen.has(key)) throw new InvalidColumnError(boardId, `${JSON.stringify(key)} (empty or repeated key)`);
    seen.add(key);
  }
}

function toBoard(row: Selectable<BoardsTable>): Board {
  return { id: row.id, name: row.name, repo: row.repo, baseBranch: row.base_branch, createdAt: row.created_at };
}

function toColumn(row: Selectable<BoardColumnsTable>): BoardColumn {
  return { boardId: row.board_id, key: row.key, name: row.name, role: row.role, position: row.position };
}

function toCard(row: Selectable<CardsTable>): Card {
  return {
    id: row.id,
    boardId: row.board_id,
    title: row.title,
    body: row.body,
    columnKey: row.column_key,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toComment(row: Selectable<CardCommentsTable>): CardComment {
  return { id: row.id, cardId: row.card_id, commentKey: row.comment_key, body: row.body, createdAt: row.created_at };
}
