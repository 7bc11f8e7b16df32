/**
 * GitHub Projects v2 through GraphQL: which issue a project item is and in which Status it sits (webhooks carry
 * only node ids), and moving an issue's item to a Status option.
 */
import type { GitHubClient } from './client';

export interface ProjectRef {
  owner: string;
  number: number;
  /** The single-select field whose options are the columns (default "Status"). */
  statusField: string;
}

export interface ResolvedProjectItem {
  itemId: string;
  project: { owner: string; number: number };
  /** The item's option name in the status field; null when unset. */
  status: string | null;
  /** The status field's node id (edits of other fields can then be told apart). */
  statusFieldId?: string;
  /** The issue the item is, or null for draft items and pull requests. */
  issue: { owner: string; repo: string; number: number; title?: string; body?: string | null } | null;
}

const OWNER_LOGIN = '... on Organization { login } ... on User { login }';

const RESOLVE_ITEM = `query ResolveProjectItem($id: ID!, $field: String!) {
  node(id: $id) {
    ... on ProjectV2Item {
      id
      project { number owner { ${OWNER_LOGIN} } }
      statusField: project { field(name: $field) { ... on ProjectV2SingleSelectField { id } } }
      fieldValueByName(name: $field) { ... on ProjectV2ItemFieldSingleSelectValue { name } }
      content { ... on Issue { number title body repository { name owner { login } } } }
    }
  }
}`;

interface ResolveItemData {
  node: {
    id?: string;
    project?: { number: number; owner: { login?: string } };
    statusField?: { field: { id?: string } | null };
    fieldValueByName?: { name?: string | null } | null;
    content?: { number?: number; title?: string; body?: string | null; repository?: { name: string; owner: { login: string } } } | null;
  } | null;
}

/** The project item behind a `projects_v2_item` webhook; null when the node is not a project item. */
export async function resolveProjectItem(octokit: GitHubClient, itemNodeId: string, statusField = 'Status'): Promise<ResolvedProjectItem | null> {
  const { node } = await octokit.graphql<ResolveItemData>(RESOLVE_ITEM, { id: itemNodeId, field: statusField });
  if (!node?.id || !node.project) return null;
  const content = node.content;
  return {
    itemId: node.id,
    project: { owner: node.project.owner.login ?? '', number: node.project.number },
    status: node.fieldValueByName?.name ?? null,
    statusFieldId: node.statusField?.field?.id,
    issue:
      content?.number !== undefined && content.repository
        ? { owner: content.repository.owner.login, repo: content.repository.name, number: content.number, title: content.title, body: content.body }
        : null,
  };
}

const ISSUE_ITEMS = `query IssueProjectItems($owner: String!, $repo: String!, $number: Int!, $field: String!) {
  repository(owner: $owner, name: $repo) {
    issue(number: $number) {
      projectItems(first: 50) {
        nodes {
          id
          fieldValueByName(name: $field) { ... on ProjectV2ItemFieldSingleSelectValue { name } }
          project {
            id
            number
            owner { ${OWNER_LOGIN} }
            field(name: $field) { ... on ProjectV2SingleSelectField { id options { id name } } }
          }
        }
      }
    }
  }
}`;

interface IssueItemsData {
  repository: {
    issue: {
      projectItems: {
        nodes: Array<{
          id: string;
          fieldValueByName: { name?: string | null } | null;
          project: { id: string; number: number; owner: { login?: string }; field: { id?: string; options?: Array<{ id: string; name: string }> } | null };
        } | null> | null;
      };
    } | null;
  } | null;
}

const SET_STATUS = `mutation SetProjectStatus($project: ID!, $item: ID!, $field: ID!, $option: String!) {
  updateProjectV2ItemFieldValue(input: { projectId: $project, itemId: $item, fieldId: $field, value: { singleSelectOptionId: $option } }) {
    projectV2Item { id }
  }
}`;

export class ProjectItemNotFoundError extends Error {
  override name = 'ProjectItemNotFoundError';
}

/**
 * Sets the issue's item in `project` to the first of `statusNames` that the field has (names compared
 * case-insensitively). No-op when the item already shows one of `statusNames`.
 */
export async function moveIssueInProject(
  octokit: GitHubClient,
  issue: { owner: string; repo: string; number: number },
  project: ProjectRef,
  statusNames: readonly string[],
): Promise<'moved' | 'unchanged'> {
  const data = await octokit.graphql<IssueItemsData>(ISSUE_ITEMS, { owner: issue.owner, repo: issue.repo, number: issue.number, field: project.statusField });
  const items = data.repository?.issue?.projectItems.nodes ?? [];
  const item = items.find((candidate) => candidate && candidate.project.number === project.number && sameLogin(candidate.project.owner.login, project.owner));
  if (!item) throw new ProjectItemNotFoundError(`${issue.owner}/${issue.repo}#${issue.number} is not in project ${project.owner}/${project.number}`);
  const wanted = statusNames.map((name) => name.toLowerCase());
  if (item.fieldValueByName?.name && wanted.includes(item.fieldValueByName.name.toLowerCase())) return 'unchanged';
  const field = item.project.field;
  const option = wanted.map((name) => field?.options?.find((candidate) => candidate.name.toLowerCase() === name)).find(Boolean);
  if (!field?.id || !option) {
    throw new ProjectItemNotFoundError(`project ${project.owner}/${project.number} has no "${project.statusField}" option named ${statusNames.join(' or ')}`);
  }
  await octokit.graphql(SET_STATUS, { project: item.project.id, item: item.id, field: field.id, option: option.id });
  return 'moved';
}

function sameLogin(a: string | undefined, b: string): boolean {
  return a !== undefined && a.toLowerCase() === b.toLowerCase();
}
