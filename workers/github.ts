/**
 * GitHub's outbound side, composed once from the `github` config section: one API client (shared with the
 * webhook provider's GraphQL/REST look-ups), the forge, the board client, and the push credentials for GitHub
 * cards. Null when GitHub is not configured.
 */
import type { OuijaConfig } from '../src/config';
import type { CardInfo } from '../src/core/types';
import type { Logger } from '../src/log';
import { githubHttpAuth, type SecretGitConfig } from '../src/plugins/git';
import { githubForge } from '../src/plugins/git/forges/github';
import type { Forge } from '../src/plugins/git/forges/types';
import { githubBoardClient } from '../src/plugins/kanban/github/board-client';
import { githubClient, type GitHubClient } from '../src/plugins/kanban/github/client';
import { resolveProjectItem } from '../src/plugins/kanban/github/project';
import { fetchReviewComments } from '../src/plugins/kanban/github/review-comments';
import type { GithubWebhookOptions } from '../src/plugins/kanban/github/webhook';
import type { BoardClient } from '../src/plugins/kanban/types';

export interface GithubOutbound {
  client: GitHubClient;
  forge: Forge;
  board: BoardClient;
  /** The auth header git needs to push a GitHub card's branch over https (nothing for other cards). */
  pushSecretsFor(card: CardInfo): SecretGitConfig | undefined;
  /** The API look-ups the webhook provider needs (project items, review comments). */
  lookups: Pick<GithubWebhookOptions, 'resolveProjectItem' | 'fetchReviewComments'>;
}

export function githubOutbound(config: Pick<OuijaConfig, 'github' | 'secrets'>, log: Logger): GithubOutbound | null {
  const github = config.github;
  if (!github) return null;
  const token = config.secrets.githubToken;
  const client = githubClient({ token, apiUrl: github.apiUrl, log });
  return {
    client,
    forge: githubForge(client),
    board: githubBoardClient(client, github),
    pushSecretsFor: (card) => (card.ref.provider === 'github' && token ? githubHttpAuth(card.repo, token) : undefined),
    lookups: {
      resolveProjectItem: (itemNodeId) => resolveProjectItem(client, itemNodeId, github.project?.statusField),
      fetchReviewComments: (query) => fetchReviewComments(client, query),
    },
  };
}

/** Each card publishes to its own provider's forge: GitHub issues open pull requests, the rest use `fallback`. */
export function forgeSelector(fallback: Forge, github: GithubOutbound | null): (card: CardInfo) => Forge {
  return (card) => {
    if (card.ref.provider !== 'github') return fallback;
    if (!github) throw new Error(`card ${card.key} is a GitHub issue but GitHub is not configured`);
    return github.forge;
  };
}
