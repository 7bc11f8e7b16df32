/**
 * The GitHub forge: the review request is a pull request from the card's branch. Effects run at least once,
 * so the open PR is looked up by head branch before one is created, and GitHub's 422 "A pull request already
 * exists" (a concurrent or timed-out attempt won the race) counts as success: the PR is looked up again.
 */
import type { CardInfo, ReviewRequest } from '../../../core/types';
import { fenceUntrusted } from '../../agent/prompt';
import type { GitHubClient } from '../../kanban/github/client';
import { cardMarker, repoOfBoard } from '../../kanban/github/cards';
import type { Forge } from './types';

interface PullRequest {
  number: number;
  html_url: string;
  title: string;
  body: string | null;
  head: { sha: string };
}

/** How much of the issue's text the PR body repeats: enough to review against, far below GitHub's 65,536 limit. */
export const ISSUE_TEXT_LIMIT = 4000;

/**
 * The PR body: the hidden card marker, a link that closes the issue on merge, the agent's summary, and the
 * issue's text the work was done from. The marker comes first because the webhook parser takes the first
 * one, and the issue's text is anyone's: fenced, so its mentions, closing keywords ("fixes #12") and markup
 * stay inert in the PR, and trimmed.
 */
export function pullRequestBody(card: CardInfo, summary?: string): string {
  const parts = [`${cardMarker(card.key)}\nCloses #${card.ref.cardId}`];
  if (summary?.trim()) parts.push(summary.trim());
  const issueText = card.body.trim();
  if (issueText) parts.push(`The issue's text:\n\n${quotedIssueText(issueText)}`);
  return parts.join('\n\n');
}

function quotedIssueText(text: string): string {
  // By code point, so a cut never splits a surrogate pair.
  const chars = Array.from(text);
  if (chars.length <= ISSUE_TEXT_LIMIT) return fenceUntrusted(text);
  const cut = chars.slice(0, ISSUE_TEXT_LIMIT).join('');
  return `${fenceUntrusted(cut)}\n\n(${chars.length - ISSUE_TEXT_LIMIT} more characters in the issue)`;
}

export function githubForge(octokit: GitHubClient): Forge {
  const findOpen = async (owner: string, repo: string, branch: string): Promise<PullRequest | null> => {
    const { data } = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 1 });
    return data[0] ?? null;
  };

  const toReview = (pr: PullRequest, headSha: string): ReviewRequest => ({ id: String(pr.number), url: pr.html_url, headSha });

  return {
    async openOrUpdateReview({ card, branch, headSha, title, summary }) {
      if (card.ref.provider !== 'github') throw new Error(`the GitHub forge cannot publish ${card.key}`);
      const { owner, repo } = repoOfBoard(card.ref.boardId);
      const body = pullRequestBody(card, summary);
      const existing = await findOpen(owner, repo, branch);
      if (existing) {
        if (existing.title !== title || (existing.body ?? '') !== body) {
          await octokit.rest.pulls.update({ owner, repo, pull_number: existing.number, title, body });
        }
        return toReview(existing, headSha);
      }
      const base = card.baseBranch ?? (await octokit.rest.repos.get({ owner, repo })).data.default_branch;
      try {
        const { data } = await octokit.rest.pulls.create({ owner, repo, head: branch, base, title, body });
        return toReview(data, headSha);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const raced = await findOpen(owner, repo, branch);
        if (!raced) throw err;
        return toReview(raced, headSha);
      }
    },
  };
}

/** GitHub's answer when an open PR for the same head and base exists: 422 with "A pull request already exists". */
function isAlreadyExists(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || (err as { status?: unknown }).status !== 422) return false;
  const text = JSON.stringify((err as { response?: { data?: unknown } }).response?.data ?? '') + String((err as Error).message);
  return /pull request already exists/i.test(text);
}
