/**
 * The review's feedback look-up: inline comments always, conversation comments only from this round — written
 * at or after the reviewed head's commit — and never Ouija's own. The client is a stub answering like GitHub.
 */
import type { GitHubClient } from '../../../src/plugins/kanban/github/client';
import { fetchReviewComments } from '../../../src/plugins/kanban/github/review-comments';

const HEAD = 'c0ffee'.padEnd(40, '0');
const user = (login: string) => ({ login });

function stubClient() {
  const conversation = [
    { body: 'Round 0: rename foo', user: user('bob'), author_association: 'MEMBER', created_at: '2024-05-01T09:00:00Z', updated_at: '2024-05-01T09:00:00Z' },
    // Edited after the push, but written for an earlier round.
    { body: 'Round 0: add a test (edited)', user: user('bob'), author_association: 'MEMBER', created_at: '2024-05-01T09:30:00Z', updated_at: '2024-05-01T11:00:00Z' },
    { body: 'Round 1: the test fails', user: user('carol'), author_association: 'COLLABORATOR', created_at: '2024-05-01T10:00:00Z', updated_at: '2024-05-01T10:00:00Z' },
    { body: 'Published. <!-- ouija:comment k -->', user: user('ouija-bot'), author_association: 'COLLABORATOR', created_at: '2024-05-01T10:05:00Z', updated_at: '2024-05-01T10:05:00Z' },
  ];
  const calls: Record<string, unknown[]> = { getCommit: [], listComments: [] };
  const client = {
    paginate: (endpoint: (params: unknown) => Promise<{ data: unknown[] }>, params: unknown) => endpoint(params).then((r) => r.data),
    rest: {
      pulls: {
        listCommentsForReview: async () => ({ data: [{ body: 'inline', path: 'a.ts', line: 2, user: user('carol'), author_association: 'COLLABORATOR', created_at: '2024-05-01T10:01:00Z' }] }),
      },
      issues: {
        // GitHub's `since` is by last update.
        listComments: async (params: { since?: string }) => {
          calls.listComments!.push(params);
          return { data: conversation.filter((c) => !params.since || c.updated_at >= params.since) };
        },
      },
      git: {
        getCommit: async (params: { commit_sha: string }) => {
          calls.getCommit!.push(params);
          // A commit made in another time zone: the date is compared as an instant, not as text.
          return { data: { sha: params.commit_sha, committer: { name: 'Ouija', email: 'o@example.com', date: '2024-05-01T11:45:00+02:00' } } };
        },
      },
    },
  };
  return { client: client as unknown as GitHubClient, calls };
}

test("counts conversation comments from the head commit's date: earlier rounds' are left out, Ouija's own too", async () => {
  const { client, calls } = stubClient();
  const comments = await fetchReviewComments(client, { owner: 'acme', repo: 'widgets', pull: 3, reviewId: 9, sinceCommit: HEAD });
  expect(calls.getCommit).toEqual([{ owner: 'acme', repo: 'widgets', commit_sha: HEAD }]);
  expect(calls.listComments).toEqual([expect.objectContaining({ issue_number: 3, since: '2024-05-01T09:45:00Z' })]);
  expect(comments.map((c) => c.body)).toEqual(['inline', 'Round 1: the test fails']);
});

test('without a commit or a moment, the whole conversation counts', async () => {
  const { client, calls } = stubClient();
  const comments = await fetchReviewComments(client, { owner: 'acme', repo: 'widgets', pull: 3, reviewId: 9 });
  expect(calls.getCommit).toEqual([]);
  expect(comments.map((c) => c.body)).toEqual(['inline', 'Round 0: rename foo', 'Round 0: add a test (edited)', 'Round 1: the test fails']);
});
