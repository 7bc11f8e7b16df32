import {
  addComment,
  AlreadyExistsError,
  columnRole,
  createBoard,
  createCard,
  getBoard,
  getCard,
  InvalidColumnError,
  InvalidIdError,
  listCards,
  listColumns,
  listComments,
  moveCard,
  moveCardToRole,
  NotFoundError,
  VersionConflictError,
  type Card,
} from '../../../src/db';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => test?.close());

const newBoard = (id?: string) => createBoard(test.db, { id, name: 'Board', repo: '/srv/repo.git' });
const newCard = async (columnKey?: string) => {
  const board = await newBoard();
  return createCard(test.db, { boardId: board.id, title: 'Fix the login', body: 'It breaks.', columnKey });
};

describe('boards and columns', () => {
  it('creates a board with the default columns, a generated safe ID and no base branch', async () => {
    const board = await newBoard();
    expect(board.id).toMatch(/^b\d+$/);
    expect(board).toMatchObject({ name: 'Board', repo: '/srv/repo.git', baseBranch: null });
    expect(board.createdAt).toBeInstanceOf(Date);
    expect(await getBoard(test.db, board.id)).toEqual(board);

    const columns = await listColumns(test.db, board.id);
    expect(columns.map((c) => [c.key, c.role, c.position])).toEqual([
      ['backlog', 'other', 0],
      ['in-progress', 'working', 1],
      ['review', 'review', 2],
      ['done', 'done', 3],
    ]);
    expect(await columnRole(test.db, board.id, 'in-progress')).toBe('working');
    expect(await columnRole(test.db, board.id, 'nowhere')).toBeUndefined();
  });

  it('takes an explicit ID and base branch, and refuses a duplicate or unsafe ID', async () => {
    const board = await createBoard(test.db, { id: 'team-a', name: 'A', repo: 'https://example.com/a.git', baseBranch: 'main' });
    expect(board).toMatchObject({ id: 'team-a', baseBranch: 'main' });
    await expect(newBoard('team-a')).rejects.toThrow(AlreadyExistsError);
    await expect(newBoard('no/slashes')).rejects.toThrow(InvalidIdError);
    expect(await getBoard(test.db, 'no/slashes')).toBeUndefined();
  });

  it('refuses custom columns with repeated keys, leaving no half-made board', async () => {
    const columns = [
      { key: 'todo', name: 'To do', role: 'other' as const },
      { key: 'todo', name: 'Again', role: 'working' as const },
    ];
    await expect(createBoard(test.db, { id: 'twice', name: 'T', repo: 'r', columns })).rejects.toThrow(InvalidColumnError);
    expect(await getBoard(test.db, 'twice')).toBeUndefined();
  });
});

describe('cards', () => {
  it('starts in backlog at version 1 with a generated safe ID', async () => {
    const card = await newCard();
    expect(card.id).toMatch(/^c\d+$/);
    expect(card).toMatchObject({ title: 'Fix the login', body: 'It breaks.', columnKey: 'backlog', version: 1 });
    expect(await getCard(test.db, card.id)).toEqual(card);
    expect(await getCard(test.db, 'c-none')).toBeUndefined();
  });

  it('can start in a given column; an unknown column or board is an error', async () => {
    const board = await newBoard();
    const card = await createCard(test.db, { boardId: board.id, title: 't', body: '', columnKey: 'review' });
    expect(card.columnKey).toBe('review');
    await expect(createCard(test.db, { boardId: board.id, title: 't', body: '', columnKey: 'limbo' })).rejects.toThrow(InvalidColumnError);
    await expect(createCard(test.db, { boardId: 'no-board', title: 't', body: '' })).rejects.toThrow(NotFoundError);
  });

  it('lists a board’s cards in creation order, and only that board’s', async () => {
    const board = await newBoard();
    const made: Card[] = [];
    for (const title of ['one', 'two', 'three']) made.push(await createCard(test.db, { boardId: board.id, title, body: '' }));
    await newCard(); // on another board
    expect((await listCards(test.db, board.id)).map((c) => c.id)).toEqual(made.map((c) => c.id));
  });
});

describe('moveCard (compare-and-set)', () => {
  it('moves and bumps the version', async () => {
    const card = await newCard();
    const moved = await moveCard(test.db, { cardId: card.id, toColumn: 'in-progress', expectedVersion: 1 });
    expect(moved).toMatchObject({ id: card.id, columnKey: 'in-progress', version: 2 });
    expect(moved.updatedAt.getTime()).toBeGreaterThanOrEqual(card.updatedAt.getTime());
    expect(await getCard(test.db, card.id)).toEqual(moved);
  });

  it('refuses a stale version, naming the current one, and changes nothing', async () => {
    const card = await newCard();
    await moveCard(test.db, { cardId: card.id, toColumn: 'review', expectedVersion: 1 });
    const error = await moveCard(test.db, { cardId: card.id, toColumn: 'done', expectedVersion: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ expectedVersion: 1, currentVersion: 2 });
    expect(await getCard(test.db, card.id)).toMatchObject({ columnKey: 'review', version: 2 });
  });

  it('refuses an unknown column or card', async () => {
    const card = await newCard();
    await expect(moveCard(test.db, { cardId: card.id, toColumn: 'limbo', expectedVersion: 1 })).rejects.toThrow(InvalidColumnError);
    await expect(moveCard(test.db, { cardId: 'c-none', toColumn: 'done', expectedVersion: 1 })).rejects.toThrow(NotFoundError);
    expect(await getCard(test.db, card.id)).toMatchObject({ columnKey: 'backlog', version: 1 });
  });

  it('lets exactly one of two concurrent moves from the same version win', async () => {
    const card = await newCard();
    const results = await Promise.allSettled([
      moveCard(test.db, { cardId: card.id, toColumn: 'in-progress', expectedVersion: 1 }),
      moveCard(test.db, { cardId: card.id, toColumn: 'done', expectedVersion: 1 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(VersionConflictError);
    expect((await getCard(test.db, card.id))!.version).toBe(2);
  });

  it('loses no update under 8 concurrent writers × 50 read-then-CAS moves', async () => {
    const card = await newCard();
    const columns = ['backlog', 'in-progress', 'review', 'done'];
    const writer = async (w: number): Promise<number[]> => {
      const versions: number[] = [];
      for (let i = 0; i < 50; i++) {
        for (;;) {
          const current = (await getCard(test.db, card.id))!;
          try {
            const toColumn = columns[(w + i) % columns.length]!;
            versions.push((await moveCard(test.db, { cardId: card.id, toColumn, expectedVersion: current.version })).version);
            break;
          } catch (error) {
            if (!(error instanceof VersionConflictError)) throw error;
          }
        }
      }
      return versions;
    };
    const versions = (await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(writer))).flat();
    expect((await getCard(test.db, card.id))!.version).toBe(401);
    // Every successful write produced its own version: 2..401, each exactly once.
    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i + 2));
  });
});

describe('moveCardToRole (the system’s idempotent move)', () => {
  it('moves to the first column with the role once, then does nothing', async () => {
    const card = await newCard();
    const first = await moveCardToRole(test.db, { cardId: card.id, role: 'working' });
    expect(first).toMatchObject({ moved: true, card: { columnKey: 'in-progress', version: 2 } });
    const again = await moveCardToRole(test.db, { cardId: card.id, role: 'working' });
    expect(again).toMatchObject({ moved: false, card: { columnKey: 'in-progress', version: 2 } });
  });

  it('moves exactly once when five copies of the effect run at the same time', async () => {
    const card = await newCard();
    const results = await Promise.all(Array.from({ length: 5 }, () => moveCardToRole(test.db, { cardId: card.id, role: 'review' })));
    expect(results.filter((r) => r.moved)).toHaveLength(1);
    expect(await getCard(test.db, card.id)).toMatchObject({ columnKey: 'review', version: 2 });
  });

  it('leaves a card in any column of the role where it is, and refuses a role the board lacks', async () => {
    const board = await createBoard(test.db, {
      name: 'Two reviews',
      repo: 'r',
      columns: [
        { key: 'todo', name: 'To do', role: 'other' },
        { key: 'code-review', name: 'Code review', role: 'review' },
        { key: 'qa', name: 'QA', role: 'review' },
      ],
    });
    const card = await createCard(test.db, { boardId: board.id, title: 't', body: '', columnKey: 'qa' });
    expect(await moveCardToRole(test.db, { cardId: card.id, role: 'review' })).toMatchObject({ moved: false, card: { columnKey: 'qa' } });
    await expect(moveCardToRole(test.db, { cardId: card.id, role: 'done' })).rejects.toThrow(InvalidColumnError);
    await expect(moveCardToRole(test.db, { cardId: 'c-none', role: 'done' })).rejects.toThrow(NotFoundError);
  });
});

describe('comments', () => {
  it('keeps one comment per key, the first one', async () => {
    const card = await newCard();
    expect(await addComment(test.db, { cardId: card.id, commentKey: 'run1:failed', body: 'first' })).toEqual({ created: true });
    expect(await addComment(test.db, { cardId: card.id, commentKey: 'run1:failed', body: 'second' })).toEqual({ created: false });
    expect(await addComment(test.db, { cardId: card.id, commentKey: 'run2:failed', body: 'other' })).toEqual({ created: true });
    const comments = await listComments(test.db, card.id);
    expect(comments.map((c) => [c.commentKey, c.body])).toEqual([
      ['run1:failed', 'first'],
      ['run2:failed', 'other'],
    ]);
  });

  it('creates one row when the same comment is posted concurrently', async () => {
    const card = await newCard();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => addComment(test.db, { cardId: card.id, commentKey: 'k', body: 'b' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await listComments(test.db, card.id)).toHaveLength(1);
  });

  it('refuses a comment on an unknown card', async () => {
    await expect(addComment(test.db, { cardId: 'c-none', commentKey: 'k', body: 'b' })).rejects.toThrow(NotFoundError);
  });
});
