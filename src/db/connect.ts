/**
 * Opens Ouija's database: a real Postgres when a URL is given (production, CI), otherwise an embedded
 * PGlite (real Postgres compiled to WASM, one connection) under the data directory, so `npm start` needs
 * no server. The same queries and migrations run on both.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import type { Database } from './schema';
import { log } from '../log';

export interface ConnectOptions {
  /** `postgres://…`: use this server. */
  databaseUrl?: string;
  /** Without a URL: keep PGlite's data under `<dataDir>/pglite`. Omit both for an in-memory PGlite (demos, tests). */
  dataDir?: string;
}

export interface DatabaseConnection {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  /** Where the data lives, for startup banners (the URL without its password, or the PGlite directory). */
  location: string;
  /** Releases every connection (the pool, or PGlite's WASM instance). Safe to call twice. */
  close(): Promise<void>;
}

const POOL_SIZE = 10;

export async function connectDatabase(options: ConnectOptions): Promise<DatabaseConnection> {
  return options.databaseUrl ? connectPostgres(options.databaseUrl) : connectPglite(options.dataDir);
}

function connectPostgres(databaseUrl: string): DatabaseConnection {
  const pool = new Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  // An idle client losing its server emits 'error' on the pool; unhandled, that would crash the process.
  // (Only message and code: the error object drags the whole client along.)
  pool.on('error', (err: Error & { code?: string }) => log.warn({ error: err.message, code: err.code }, 'idle Postgres connection failed'));
  // A checked-out client has no pool listener: its connection dying between queries (a server shutdown) would
  // be an uncaught 'error' too. Its query fails on its own; the pool drops the broken client on release.
  pool.on('connect', (client) => {
    client.on('error', (err: Error & { code?: string }) => log.debug({ error: err.message, code: err.code }, 'Postgres connection failed'));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', location: redactPassword(databaseUrl), close: once(() => db.destroy()) };
}

async function connectPglite(dataDir: string | undefined): Promise<DatabaseConnection> {
  let location = 'memory://';
  if (dataDir !== undefined) {
    location = join(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  const pglite = await PGlite.create(location);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  // destroy() closes PGlite, which flushes its data directory.
  return { db, kind: 'pglite', location, close: once(() => db.destroy()) };
}

/** Fails when the database cannot answer a trivial query (for readiness checks). */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

function redactPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
