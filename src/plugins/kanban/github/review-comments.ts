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
  /** ISO timestamp: conversation comments at or after it count; undefined = all of them. */
  since?: string;
}

export async function fetchReviewComments(octokit: GitHubClient, query: ReviewCommentsQuery): Promise<FetchedReviewComment[]> {
  const { owner, repo, pull, reviewId, since } = query;
  const inline = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, { owner, repo, pull_number: pull, review_id: reviewId, per_page: 100 });
  const conversation = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: pull, per_page: 100, ...(since ? { since } : {}) });
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
    ...conversation.filter((c) => !OUIJA_MARKER.test(c.body ?? '')).map((c) => ({
      author: c.user?.login ?? 'ghost',
      authorAssociation: c.author_association,
      body: c.body ?? '',
      createdAt: c.created_at,
    })),
  ];
}
