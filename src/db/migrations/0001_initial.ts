/**
 * The first schema. Portable between Postgres and PGlite: plain DDL, no extensions.
 * Migrations take `Kysely<unknown>` on purpose: they must not depend on the current `Database` types.
 */
import { sql, type Kysely } from 'kysely';

/** The ID alphabet card keys accept (see src/core/cards.ts), enforced by the database as well. */
const SAFE_ID = sql`~ '^[A-Za-z0-9_.-]{1,128}$'`;
const now = sql`now()`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // Generated IDs are short and readable (b1, c42): they end up in card keys, branch names and URLs.
  await sql`create sequence board_id_seq`.execute(db);
  await sql`create sequence card_id_seq`.execute(db);

  await db.schema
    .createTable('boards')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(sql`'b' || nextval('board_id_seq')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('base_branch', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint('boards_id_safe', sql`id ${SAFE_ID}`)
    .execute();

  await db.schema
    .createTable('board_columns')
    .addColumn('board_id', 'text', (c) => c.notNull().references('boards.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('board_columns_pkey', ['board_id', 'key'])
    .addCheckConstraint('board_columns_role_check', sql`role in ('working', 'review', 'done', 'other')`)
    .execute();

  await db.schema
    .createTable('cards')
    .addColumn('id', 'text', (c) => c.primaryKey().defaultTo(sql`'c' || nextval('card_id_seq')`))
    .addColumn('board_id', 'text', (c) => c.notNull().references('boards.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('column_key', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addCheckConstraint('cards_id_safe', sql`id ${SAFE_ID}`)
    // A card is always in a column of its own board.
    .addForeignKeyConstraint('cards_column_fkey', ['board_id', 'column_key'], 'board_columns', ['board_id', 'key'])
    .execute();
  await db.schema.createIndex('cards_board_id_idx').on('cards').column('board_id').execute();

  await db.schema
    .createTable('card_comments')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('card_id', 'text', (c) => c.notNull().references('cards.id').onDelete('cascade'))
    .addColumn('comment_key', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('card_comments_card_key_unique', ['card_id', 'comment_key'])
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('card_key', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('received'))
    .addColumn('body_bytes', 'integer', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('accepted_at', 'timestamptz')
    .addColumn('note', 'text')
    .addUniqueConstraint('webhook_deliveries_source_delivery_unique', ['source', 'delivery_id'])
    .addCheckConstraint('webhook_deliveries_status_check', sql`status in ('received', 'accepted', 'ignored')`)
    .execute();

  // Every 400/401/413 lands here, repeats included: this table is an audit log, never deduplicated.
  await db.schema
    .createTable('webhook_rejections')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text')
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('body_bytes', 'integer')
    .addColumn('remote_addr', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('agent_runs')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('card_key', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('effect_id', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('ended_at', 'timestamptz')
    .addColumn('exit_code', 'integer')
    .addColumn('outcome', 'text')
    .addColumn('summary', 'text')
    .addColumn('tokens_in', 'integer')
    .addColumn('tokens_out', 'integer')
    .addColumn('cost_usd', 'numeric')
    // One row per activity attempt, so recording the start of an attempt twice keeps one row.
    .addUniqueConstraint('agent_runs_attempt_unique', ['workflow_id', 'run_id', 'effect_id', 'attempt'])
    .addCheckConstraint('agent_runs_outcome_check', sql`outcome in ('succeeded', 'failed', 'cancelled', 'hung')`)
    .execute();
  await db.schema.createIndex('agent_runs_card_key_idx').on('agent_runs').column('card_key').execute();

  await db.schema
    .createTable('review_requests')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('forge', 'text', (c) => c.notNull())
    .addColumn('repo', 'text', (c) => c.notNull())
    .addColumn('branch', 'text', (c) => c.notNull())
    .addColumn('card_key', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('head_sha', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('review_requests_forge_repo_branch_unique', ['forge', 'repo', 'branch'])
    .addCheckConstraint('review_requests_state_check', sql`state in ('open', 'merged', 'closed')`)
    .execute();
  await db.schema.createIndex('review_requests_card_key_idx').on('review_requests').column('card_key').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'review_requests',
    'agent_runs',
    'webhook_rejections',
    'webhook_deliveries',
    'card_comments',
    'cards',
    'board_columns',
    'boards',
  ]) {
    await db.schema.dropTable(table).execute();
  }
  await sql`drop sequence card_id_seq`.execute(db);
  await sql`drop sequence board_id_seq`.execute(db);
}
