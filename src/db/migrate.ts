/**
 * Schema migrations, in code. The provider imports every migration module statically (no directory scan),
 * so the same list works from ts-jest, ts sources and the compiled dist. Add new migrations to MIGRATIONS.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema';
import { MigrationError } from './errors';
import * as initial from './migrations/0001_initial';
import * as agentEvents from './migrations/0002_agent_events';
import * as agentRunHead from './migrations/0003_agent_run_head';

/** Applied in name order; names are recorded in `kysely_migration` and must never change. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_agent_events': agentEvents,
  '0003_agent_run_head': agentRunHead,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) };

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({ db, provider });
}

/**
 * Applies every pending migration (each in its own transaction, under kysely's migration lock, so concurrent
 * starters are safe). Returns the names applied now: empty when the schema was already current.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const { error, results = [] } = await migrator(db).migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? '(migration setup)';
    const message = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${failed} failed: ${message}`, { cause: error });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of the migrations already applied to this database, oldest first. */
export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt !== undefined).map((m) => m.name);
}
