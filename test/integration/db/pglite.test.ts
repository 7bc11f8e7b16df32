/**
 * The embedded database (`npm start` without DATABASE_URL): the same migrations and queries on PGlite,
 * persisted under the data directory. PGlite loads its WASM with dynamic import(), which jest's VM only
 * allows under `node --experimental-vm-modules`; without it these tests fail with that hint instead of crashing jest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import {
  addComment,
  connectDatabase,
  createBoard,
  createCard,
  finishAgentRun,
  getAgentRun,
  getBoard,
  listComments,
  MIGRATIONS,
  migrateToLatest,
  moveCard,
  recordDelivery,
  startAgentRun,
  upsertReviewRequest,
  VersionConflictError,
  type DatabaseConnection,
} from '../../../src/db';

const vmModules = typeof (vm as { SyntheticModule?: unknown }).SyntheticModule === 'function';

/** Each PGlite start instantiates Postgres in WASM: a few seconds, more on a busy machine. */
const PGLITE_TIMEOUT_MS = 60_000;

describe('PGlite (embedded) in a data directory', () => {
  let dataDir: string | undefined;
  let connection: DatabaseConnection | undefined;
  let firstMigration: string[] = [];

  beforeAll(async () => {
    if (!vmModules) throw new Error('PGlite needs dynamic import(): run jest with NODE_OPTIONS=--experimental-vm-modules');
    dataDir = mkdtempSync(join(tmpdir(), 'ouija-pglite-'));
    connection = await connectDatabase({ dataDir });
    firstMigration = await migrateToLatest(connection.db);
  }, PGLITE_TIMEOUT_MS);
  afterAll(async () => {
    await connection?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'migrates a new directory once, and keeps the data across restarts',
    async () => {
      expect(connection!.kind).toBe('pglite');
      expect(connection!.location).toBe(join(dataDir!, 'pglite'));
      expect(firstMigration).toEqual(Object.keys(MIGRATIONS));
      expect(await migrateToLatest(connection!.db)).toEqual([]);
      await createBoard(connection!.db, { id: 'kept', name: 'Kept', repo: '/srv/kept.git' });
      await connection!.close();

      connection = await connectDatabase({ dataDir });
      expect(await migrateToLatest(connection.db)).toEqual([]);
      expect(await getBoard(connection.db, 'kept')).toMatchObject({ name: 'Kept', repo: '/srv/kept.git' });
    },
    PGLITE_TIMEOUT_MS,
  );

  it('runs the same compare-and-set and idempotent writes', async () => {
    const db = connection!.db;
    const board = await createBoard(db, { name: 'Writes', repo: '/srv/writes.git' });
    const card = await createCard(db, { boardId: board.id, title: 't', body: 'b' });
    const moves = await Promise.allSettled([
      moveCard(db, { cardId: card.id, toColumn: 'in-progress', expectedVersion: 1 }),
      moveCard(db, { cardId: card.id, toColumn: 'done', expectedVersion: 1 }),
    ]);
    expect(moves.filter((m) => m.status === 'fulfilled')).toHaveLength(1);
    expect(moves.find((m) => m.status === 'rejected')).toMatchObject({ reason: expect.any(VersionConflictError) });

    await addComment(db, { cardId: card.id, commentKey: 'k', body: 'once' });
    expect(await addComment(db, { cardId: card.id, commentKey: 'k', body: 'twice' })).toEqual({ created: false });
    expect(await listComments(db, card.id)).toHaveLength(1);

    const seen = await Promise.all(
      Array.from({ length: 5 }, () => recordDelivery(db, { source: 'builtin', deliveryId: 'd1', event: 'card.moved', cardKey: null, bodyBytes: 10 })),
    );
    expect(seen.filter((s) => s.firstSeen)).toHaveLength(1);

    const run = await startAgentRun(db, { cardKey: 'builtin:b:c', workflowId: 'w', runId: 'r', effectId: 'e', step: 'implement', attempt: 1, agent: 'demo' });
    await finishAgentRun(db, run, { exitCode: 0, outcome: 'succeeded', costUsd: 1.25 });
    expect(await getAgentRun(db, run)).toMatchObject({ outcome: 'succeeded', costUsd: 1.25 });

    const pr = { forge: 'local', repo: '/srv/writes.git', branch: 'ouija/x', cardKey: 'builtin:b:c', title: 't', url: 'u' };
    const opened = await upsertReviewRequest(db, { ...pr, headSha: 'a' });
    expect(await upsertReviewRequest(db, { ...pr, headSha: 'b' })).toMatchObject({ id: opened.id, headSha: 'b' });
  });
});
