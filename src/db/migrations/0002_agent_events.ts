/**
 * Agents' live progress: one row per event an agent run printed (progress text, its CLI session, its result,
 * stderr lines), so operators can follow a card from any process (`ouija logs`, the SSE endpoint).
 * Portable between Postgres and PGlite.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_events')
    // Increasing across all runs (one writer per card at a time), so it doubles as a card's stream cursor.
    .addColumn('seq', 'serial', (c) => c.primaryKey())
    .addColumn('agent_run_id', 'integer', (c) => c.notNull().references('agent_runs.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('tool', 'text')
    .addColumn('turn', 'integer')
    .addCheckConstraint('agent_events_type_check', sql`type in ('progress', 'session', 'result', 'stderr')`)
    .execute();
  await db.schema.createIndex('agent_events_run_seq_idx').on('agent_events').columns(['agent_run_id', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_events').execute();
}
