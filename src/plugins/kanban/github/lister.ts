/**
 * The GitHub cards in working and review columns, for the reconciler: open issues of `github.repos` carrying
 * the working or review label, or — with `github.project` — the project's issue items whose Status option
 * maps to working or review. Read-only; one paginated request per repository and label (or per project page).
 */
import type { GithubSettings } from '../../../config';
import type { CardInfo, ColumnRole } from '../../../core/types';
import { cardFromIssue, isConfiguredRepo, labelNames, type RepoName } from './cards';
import type { GitHubClient } from './client';

export interface ListedCard {
  card: CardInfo;
  role: ColumnRole;
  /** Changes when the card's column may have changed: the issue's (or the Status value's) updated_at. */
  version: string;
  changedAt: Date;
}

type Settings = Pick<GithubSettings, 'repos' | 'labels' | 'project' | 'cloneUrl' | 'repoUrls'>;

export { roleFromLabels, roleFromStatus } from './columns';
import { roleFromLabels, roleFromStatus } from './columns';

export async function listGithubCards(octokit: GitHubClient, github: Settings): Promise<ListedCard[]> {
  return github.project ? listProjectCards(octokit, github, github.project) : listLabelledCards(octokit, github);
}

async function listLabelledCards(octokit: GitHubClient, github: Settings): Promise<ListedCard[]> {
  const byKey = new Map<string, ListedCard>();
  for (const full of github.repos) {
    const [owner, repo] = full.split('/') as [string, string];
    for (const label of [github.labels.working, github.labels.review]) {
      const issues = await octokit.paginate(octokit.rest.issues.listForRepo, { owner, repo, state: 'open', labels: label, per_page: 100 });
      for (const issue of issues) {
        if (issue.pull_request) continue; // the issues endpoint lists pull requests too
        const role = roleFromLabels(labelNames(issue), github.labels);
        if (role !== 'working' && role !== 'review') continue;
        const card = cardFromIssue({ ...issue, owner, repo }, github);
        byKey.set(card.key, { card, role, version: issue.updated_at, changedAt: new Date(issue.updated_at) });
      }
    }
  }
  return [...byKey.values()];
}

const PROJECT_ITEMS = `query ProjectItems($owner: String!, $number: Int!, $field: String!, $after: String) {
  repositoryOwner(login: $owner) {
    ... on ProjectV2Owner {
      projectV2(number: $number) {
        items(first: 100, after: $after) {
          pageInfo { hasNextPage endCursor }
          nodes {
            fieldValueByName(name: $field) { ... on ProjectV2ItemFieldSingleSelectValue { name updatedAt } }
            content { ... on Issue { number title body state repository { name owner { login } } } }
          }
        }
      }
    }
  }
}`;

interface ProjectItemsData {
  repositoryOwner: {
    projectV2?: {
      items: {
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        nodes: Array<{
          fieldValueByName: { name?: string; updatedAt?: string } | null;
          content: { number?: number; title?: string; body?: string; state?: string; repository?: { name: string; owner: { login: string } } } | null;
        } | null> | null;
      };
    } | null;
  } | null;
}

async function listProjectCards(octokit: GitHubClient, github: Settings, project: NonNullable<Settings['project']>): Promise<ListedCard[]> {
  const cards: ListedCard[] = [];
  let after: string | null = null;
  do {
    const data: ProjectItemsData = await octokit.graphql<ProjectItemsData>(PROJECT_ITEMS, { owner: project.owner, number: project.number, field: project.statusField, after });
    const items = data.repositoryOwner?.projectV2?.items;
    if (!items) throw new Error(`project ${project.owner}/${project.number} not found`);
    for (const node of items.nodes ?? []) {
      const issue = node?.content;
      const status = node?.fieldValueByName;
      if (!issue?.repository || issue.number === undefined || issue.state !== 'OPEN' || !status?.updatedAt) continue;
      const name: RepoName = { owner: issue.repository.owner.login, repo: issue.repository.name };
      if (!isConfiguredRepo(name, github)) continue;
      const role = roleFromStatus(status.name, project.columns);
      if (role !== 'working' && role !== 'review') continue;
      const card = cardFromIssue({ ...name, number: issue.number, title: issue.title ?? '', body: issue.body ?? '' }, github);
      cards.push({ card, role, version: status.updatedAt, changedAt: new Date(status.updatedAt) });
    }
    after = items.pageInfo.hasNextPage ? items.pageInfo.endCursor : null;
  } while (after);
  return cards;
}
