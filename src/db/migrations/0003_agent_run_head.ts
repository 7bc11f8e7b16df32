/**
 * The commit a succeeded agent run left its worktree at. A retry of the same step (its worker died after the
 * agent finished but before Temporal heard) finds the worktree still there and reports that run instead of
 * running the agent again.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_runs').addColumn('head_sha', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_runs').dropColumn('head_sha').execute();
}
