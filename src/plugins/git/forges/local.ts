/**
 * The built-in "local" forge: for plain git remotes (a bare repository, a server without an API), the review
 * request is a row in Postgres, unique on (forge, repo, branch), so opening it twice leaves one.
 */
import type { Kysely } from 'kysely';
import { upsertReviewRequest, type Database } from '../../../db';
import type { Forge } from './types';

export function localForge(db: Kysely<Database>): Forge {
  return {
    async openOrUpdateReview({ card, branch, headSha, title }) {
      const url = `local:${card.repo}#${branch}`;
      const row = await upsertReviewRequest(db, { forge: 'local', repo: card.repo, branch, cardKey: card.key, title, headSha, url });
      return { id: String(row.id), url: row.url, headSha: row.headSha };
    },
  };
}
