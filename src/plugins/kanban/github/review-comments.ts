/**
 * The feedback behind a review: the review's inline comments plus the PR's conversation comments since a
 * moment (usually the previous push), each with the author's login and association, so the webhook parser can
 * keep only those from people with write access.
 */
import type { GitHubClient } from './client';

const OUIJA_MARKER = /<!-- ouija:/;

export interface FetchedReviewComment {
  author: string;
  /** GitHub's author_association: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, … */
  authorAssociation: string;
  body: string;
  path?: string;
  line?: number;
  /** ISO timestamp. */
  createdAt: string;
}

export interface ReviewCommentsQuery {
  owner: string;
  repo: string;
  pull: number;
  reviewId: number;
  /** ISO timestamp: conversation comments written at or after it count; undefined = all of them. */
  since?: string;
  /**
   * A commit SHA (the PR's head when the review was submitted): without `since`, conversation comments count
   * from its committer date, i.e. from when this round's code was made, so earlier rounds' are not sent again.
   */
  sinceCommit?: string;
}

export async function fetchReviewComments(octokit: GitHubClient, query: ReviewCommentsQuery): Promise<FetchedReviewComment[]> {
  const { owner, repo, pull, reviewId } = query;
  const since = query.since ?? (query.sinceCommit ? await committedAt(octokit, owner, repo, query.sinceCommit) : undefined);
  const inline = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, { owner, repo, pull_number: pull, review_id: reviewId, per_page: 100 });
  const conversation = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: pull, per_page: 100, ...(since ? { since } : {}) });
  // GitHub's `since` is by last update: an old comment edited later is not feedback on this round either.
  const sinceMs = since ? Date.parse(since) : -Infinity;
  return [
    ...inline.map((c) => ({
      author: c.user?.login ?? 'ghost',
      authorAssociation: c.author_association,
      body: c.body,
      path: c.path,
      line: c.line ?? c.original_line ?? undefined,
      createdAt: c.created_at,
    })),
    // Ouija's own comments (they carry a hidden marker) are not feedback.
    ...conversation
      .filter((c) => !OUIJA_MARKER.test(c.body ?? '') && Date.parse(c.created_at) >= sinceMs)
      .map((c) => ({
        author: c.user?.login ?? 'ghost',
        authorAssociation: c.author_association,
        body: c.body ?? '',
        createdAt: c.created_at,
      })),
  ];
}

/** A commit's committer date, as GitHub's `since` parameters want it (UTC, whole seconds). */
async function committedAt(octokit: GitHubClient, owner: string, repo: string, sha: string): Promise<string> {
  const { data } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: sha });
  return new Date(data.committer.date).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
