/**
 * The GitHub cards in working and review columns, for the reconciler: open issues of `github.repos` carrying
 * the working or review label, or — with `github.project` — the project's issue items whose Status option
 * maps to working or review. Read-only; one paginated request per repository and label (or per project page).
 *
 * When a card entered its column: a Status value's updatedAt says so directly, but an issue's updated_at moves
 * on every comment or edit, so in labels mode the time the column's label was last added comes from the
 * issue's events, one more request per card, made only when the reconciler asks (`enteredColumn`).
 */
import type { GithubSettings } from '../../../config';
import type { CardInfo, ColumnRole } from '../../../core/types';
import { cardFromIssue, isConfiguredRepo, labelNames, type RepoName } from './cards';
import type { GitHubClient } from './client';

/** When a card entered its current column, and the board version that names it. */
export interface ColumnEntry {
  version: string;
  changedAt: Date;
}

export interface ListedCard {
  card: CardInfo;
  role: ColumnRole;
  /** Changes when the card's column may have changed: the issue's updated_at (labels), the Status value's (project). */
  version: string;
  /** Project mode: when the Status value last changed. Labels mode leaves it to `enteredColumn`. */
  changedAt?: Date;
  /** Labels mode: when the column's label was last added (a request per call). */
  enteredColumn?: () => Promise<ColumnEntry>;
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
        const columnLabel = role === 'working' ? github.labels.working : github.labels.review;
        const enteredColumn = () => labelAddedAt(octokit, { owner, repo, issue_number: issue.number }, columnLabel, issue.created_at);
        byKey.set(card.key, { card, role, version: issue.updated_at, enteredColumn });
      }
    }
  }
  return [...byKey.values()];
}

async function labelAddedAt(octokit: GitHubClient, issue: { owner: string; repo: string; issue_number: number }, label: string, createdAt: string): Promise<ColumnEntry> {
  const events = await octokit.paginate(octokit.rest.issues.listEvents, { ...issue, per_page: 100 });
  // GitHub records labels given at creation as `labeled` events too; should none be found, the issue's creation
  // is the earliest the label can date from: the conservative answer (a closed run stays closed).
  const at = lastLabelled(events, label) ?? createdAt;
  return { version: at, changedAt: new Date(at) };
}

/** The time of the most recent `labeled` event for `label` (case-insensitive, as GitHub compares labels), or null. */
export function lastLabelled(events: ReadonlyArray<{ event: string; created_at: string; label?: { name: string } }>, label: string): string | null {
  const wanted = label.toLowerCase();
  let latest: string | null = null;
  for (const e of events) {
    if (e.event !== 'labeled' || e.label?.name.toLowerCase() !== wanted) continue;
    if (latest === null || Date.parse(e.created_at) > Date.parse(latest)) latest = e.created_at;
  }
  return latest;
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
