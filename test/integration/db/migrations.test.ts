import { sql } from 'kysely';
import { appliedMigrations, connectDatabase, migrateToLatest, MigrationError, MIGRATIONS } from '../../../src/db';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const TABLES = [
  'agent_events',
  'agent_runs',
  'board_columns',
  'boards',
  'card_comments',
  'cards',
  'review_requests',
  'webhook_deliveries',
  'webhook_rejections',
];

async function publicTables(test: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(test.db);
  return rows.map((r) => r.table_name);
}

describe('migrations on a real Postgres', () => {
  let test: TestDatabase;
  afterEach(async () => test?.close());

  it('apply to an empty database once, then are a no-op', async () => {
    test = await createTestDatabase({ migrate: false });
    expect(await publicTables(test)).toEqual([]);

    expect(await migrateToLatest(test.db)).toEqual(Object.keys(MIGRATIONS));
    expect(await publicTables(test)).toEqual(TABLES);
    expect(await migrateToLatest(test.db)).toEqual([]);
    expect(await appliedMigrations(test.db)).toEqual(Object.keys(MIGRATIONS));
  });

  it('apply exactly once when two processes start at the same time', async () => {
    test = await createTestDatabase({ migrate: false });
    const other = await connectDatabase({ databaseUrl: test.url });
    try {
      const [a, b] = await Promise.all([migrateToLatest(test.db), migrateToLatest(other.db)]);
      expect([...a, ...b].sort()).toEqual(Object.keys(MIGRATIONS));
    } finally {
      await other.close();
    }
    expect(await publicTables(test)).toEqual(TABLES);
  });

  it('throw a MigrationError naming the failed migration, with the database error as cause', async () => {
    test = await createTestDatabase({ migrate: false });
    await sql`create table boards (id text)`.execute(test.db);

    const failure = await migrateToLatest(test.db).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as Error).message).toMatch(/0001_initial.*already exists/);
    expect((failure as Error).cause).toBeInstanceOf(Error);
    // The failed migration rolled back as a whole: nothing half-applied, nothing recorded.
    expect(await publicTables(test)).toEqual(['boards']);
    expect(await appliedMigrations(test.db)).toEqual([]);
  });

  it('enforce the safe ID alphabet and the enumerations in the schema itself', async () => {
    test = await createTestDatabase();
    const insertBoard = (id: string) => test.db.insertInto('boards').values({ id, name: 'n', repo: 'r' }).execute();
    await expect(insertBoard('ok_id-1.x')).resolves.toBeDefined();
    await expect(insertBoard('has space')).rejects.toMatchObject({ code: '23514' });
    await expect(
      test.db.insertInto('board_columns').values({ board_id: 'ok_id-1.x', key: 'k', name: 'K', role: 'bogus' as never, position: 0 }).execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
