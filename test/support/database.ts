/**
 * A fresh, migrated Postgres database per caller, on the server named by OUIJA_TEST_DATABASE_URL (set by the
 * integration globalSetup; the user must be allowed to CREATE DATABASE). `close()` drops it again.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import type { Kysely } from 'kysely';
import { connectDatabase, migrateToLatest, type Database } from '../../src/db';

export interface TestDatabase {
  db: Kysely<Database>;
  /** URL of the fresh database (for code under test that connects by itself). */
  url: string;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

export function testServerUrl(): string {
  const url = process.env.OUIJA_TEST_DATABASE_URL;
  if (!url) throw new Error('OUIJA_TEST_DATABASE_URL is not set (the integration globalSetup sets it)');
  return url;
}

/**
 * `migrate: false` leaves the database empty (for tests of the migrations themselves); `serverUrl` puts it on
 * another server than OUIJA_TEST_DATABASE_URL's (one a test may stop and start).
 */
export async function createTestDatabase(options: { migrate?: boolean; serverUrl?: string } = {}): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? testServerUrl();
  const name = `ouija_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, (client) => client.query(`CREATE DATABASE ${escapeIdentifier(name)}`));

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const connection = await connectDatabase({ databaseUrl: url.toString() });
  try {
    if (options.migrate !== false) await migrateToLatest(connection.db);
  } catch (error) {
    await connection.close();
    await dropDatabase(serverUrl, name);
    throw error;
  }
  return {
    db: connection.db,
    url: url.toString(),
    close: async () => {
      await connection.close();
      await dropDatabase(serverUrl, name);
    },
  };
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const drop = `DROP DATABASE IF EXISTS ${escapeIdentifier(name)}`;
  try {
    // A plain DROP waits (up to 5 s) for our just-closed sessions to finish exiting.
    await onServer(serverUrl, (client) => client.query(drop));
  } catch {
    // Still in use: a failed test leaked a session. FORCE (Postgres 13+) ends it.
    await onServer(serverUrl, (client) => client.query(`${drop} WITH (FORCE)`));
  }
}

/** Runs one statement on a short-lived connection to the server's maintenance database. */
async function onServer(serverUrl: string, run: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}
