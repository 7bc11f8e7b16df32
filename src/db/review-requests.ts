/**
 * Review requests (pull requests, or the local forge's record of one), keyed by (forge, repo, branch):
 * opening the same branch's request twice leaves one row (invariant 5).
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, ReviewRequestState, ReviewRequestsTable } from './schema';

export interface ReviewRequestRecord {
  id: number;
  forge: string;
  repo: string;
  branch: string;
  cardKey: string;
  title: string;
  headSha: string;
  url: string;
  state: ReviewRequestState;
  createdAt: Date;
  updatedAt: Date;
}

export interface ReviewRequestKey {
  forge: string;
  repo: string;
  branch: string;
}

type Db = Kysely<Database>;

/**
 * Creates the request for a branch, or, when it exists, records the new head commit (and nothing else: the
 * title, URL and card stay as first opened). Returns the row either way.
 */
export async function upsertReviewRequest(
  db: Db,
  input: ReviewRequestKey & { cardKey: string; title: string; headSha: string; url: string },
): Promise<ReviewRequestRecord> {
  const row = await db
    .insertInto('review_requests')
    .values({
      forge: input.forge,
      repo: input.repo,
      branch: input.branch,
      card_key: input.cardKey,
      title: input.title,
      head_sha: input.headSha,
      url: input.url,
    })
    .onConflict((oc) =>
      oc.columns(['forge', 'repo', 'branch']).doUpdateSet((eb) => ({ head_sha: eb.ref('excluded.head_sha'), updated_at: eb.fn<Date>('now') })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export async function getReviewRequest(db: Db, key: ReviewRequestKey): Promise<ReviewRequestRecord | undefined> {
  const row = await db
    .selectFrom('review_requests')
    .selectAll()
    .where('forge', '=', key.forge)
    .where('repo', '=', key.repo)
    .where('branch', '=', key.branch)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** Oldest first. */
export async function listReviewRequests(
  db: Db,
  filter: { cardKey?: string; state?: ReviewRequestState } = {},
): Promise<ReviewRequestRecord[]> {
  let query = db.selectFrom('review_requests').selectAll();
  if (filter.cardKey !== undefined) query = query.where('card_key', '=', filter.cardKey);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  const rows = await query.orderBy('id').execute();
  return rows.map(toRecord);
}

/** Marks a request merged or closed (or reopened). Returns undefined when there is no such request. */
export async function setReviewRequestState(
  db: Db,
  key: ReviewRequestKey & { state: ReviewRequestState },
): Promise<ReviewRequestRecord | undefined> {
  const row = await db
    .updateTable('review_requests')
    .set((eb) => ({ state: key.state, updated_at: eb.fn<Date>('now') }))
    .where('forge', '=', key.forge)
    .where('repo', '=', key.repo)
    .where('branch', '=', key.branch)
    .returningAll()
    .executeTakeFirst();
  return row && toRecord(row);
}

function toRecord(row: Selectable<ReviewRequestsTable>): ReviewRequestRecord {
  return {
    id: row.id,
    forge: row.forge,
    repo: row.repo,
    branch: row.branch,
    cardKey: row.card_key,
    title: row.title,
    headSha: row.head_sha,
    url: row.url,
    state: row.state,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
