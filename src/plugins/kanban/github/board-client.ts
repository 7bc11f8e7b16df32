/**
 * GitHub as the board activities see it. Columns are either labels (an issue carries at most one of Ouija's
 * labels) or, when `github.project` is set, the Status field of a Projects v2 board. Comments carry a hidden
 * marker with their key, so a retried comment activity finds the first one and posts nothing.
 */
import type { ColumnRole } from '../../../core/types';
import type { GithubSettings } from '../../../config';
import type { BoardClient } from '../types';
import { commentMarker, labelNames, repoOfBoard, type RepoName } from './cards';
import { isNotFound, type GitHubClient } from './client';
import { moveIssueInProject } from './project';

export type GithubBoardSettings = Pick<GithubSettings, 'labels' | 'project'>;

export function githubBoardClient(octokit: GitHubClient, github: GithubBoardSettings): BoardClient {
  return {
    async moveCard(card, role) {
      const issue = { ...repoOfBoard(card.ref.boardId), number: Number(card.ref.cardId) };
      if (github.project) {
        const { project } = github;
        // "other" has no column of its own in a project: leaving the card where a human put it is the safe move.
        if (role === 'other') return;
        await moveIssueInProject(octokit, issue, project, project.columns[role]);
        return;
      }
      await moveByLabels(octokit, issue, github.labels, role);
    },

    async comment(card, commentKey, text) {
      const { owner, repo } = repoOfBoard(card.ref.boardId);
      const issue_number = Number(card.ref.cardId);
      const marker = commentMarker(commentKey);
      const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
      if (comments.some((c) => c.body?.includes(marker))) return;
      await octokit.rest.issues.createComment({ owner, repo, issue_number, body: `${text}\n\n${marker}` });
    },
  };
}

/**
 * Adds the role's label first, then removes Ouija's other labels: the issue never lacks a column label in
 * between, and the webhooks echoing the move both read as the new role (the role comes from the label set).
 */
async function moveByLabels(octokit: GitHubClient, issue: RepoName & { number: number }, labels: GithubSettings['labels'], role: ColumnRole): Promise<void> {
  const { owner, repo, number: issue_number } = issue;
  const { data } = await octokit.rest.issues.get({ owner, repo, issue_number });
  const current = labelNames(data);
  const has = (name: string) => current.some((label) => label.toLowerCase() === name.toLowerCase());
  const target = role === 'other' ? null : labels[role];
  const stale = current.filter((label) => Object.values(labels).some((ours) => ours.toLowerCase() === label.toLowerCase()) && label.toLowerCase() !== target?.toLowerCase());
  if (target && !has(target)) await octokit.rest.issues.addLabels({ owner, repo, issue_number, labels: [target] });
  for (const name of stale) {
    try {
      await octokit.rest.issues.removeLabel({ owner, repo, issue_number, name });
    } catch (err) {
      if (!isNotFound(err)) throw err; // already gone: a concurrent attempt removed it
    }
  }
}
