/**
 * The fake's GraphQL side: the document is validated against GitHub's published schema, then executed by
 * graphql-js against plain objects that mirror the state (abstract types resolve by `__typename`). Only the
 * Projects v2 corner Ouija uses is backed; any other field resolves to null.
 */
import { execute, parse, validate, type GraphQLError } from 'graphql';
import { githubGraphqlSchema } from './contract';
import type { FakeIssue, FakeItem, FakeProject, FakeState, Json } from './state';

export interface GraphqlHooks {
  /** Called when a mutation changed an item's status (the fake then sends the webhook). */
  onItemStatusChanged(item: FakeItem, previousOptionId: string | null): void;
}

export async function runGraphql(
  state: FakeState,
  hooks: GraphqlHooks,
  request: { query?: unknown; variables?: unknown },
): Promise<{ body: Json; violations: string[] }> {
  if (typeof request.query !== 'string') return { body: { errors: [{ message: 'query missing' }] }, violations: ['GraphQL: no query string'] };
  let document;
  try {
    document = parse(request.query);
  } catch (err) {
    return { body: { errors: [{ message: (err as Error).message }] }, violations: [`GraphQL parse: ${(err as Error).message}`] };
  }
  const schema = githubGraphqlSchema();
  const invalid = validate(schema, document);
  if (invalid.length > 0) return { body: { errors: invalid.map(toJson) }, violations: invalid.map((e) => `GraphQL: ${e.message}`) };
  const result = await execute({
    schema,
    document,
    rootValue: root(state, hooks),
    variableValues: (request.variables ?? {}) as Record<string, unknown>,
  });
  // Errors from executing a valid document are GitHub answering (e.g. NOT_FOUND), not contract violations.
  return { body: { data: result.data ?? null, ...(result.errors ? { errors: result.errors.map(toJson) } : {}) }, violations: [] };
}

function toJson(error: GraphQLError): Json {
  return { message: error.message, path: error.path };
}

function root(state: FakeState, hooks: GraphqlHooks): Json {
  const itemOf = (item: FakeItem): Json => ({
    __typename: 'ProjectV2Item',
    id: item.id,
    databaseId: item.dbId,
    fullDatabaseId: String(item.dbId),
    type: 'ISSUE',
    isArchived: false,
    project: () => projectOf(item.project),
    content: () => issueOf(item.issue),
    fieldValueByName: ({ name }: { name: string }) => {
      const option = item.project.field.options.find((o) => o.id === item.optionId);
      if (name.toLowerCase() !== item.project.field.name.toLowerCase() || !option) return null;
      return { __typename: 'ProjectV2ItemFieldSingleSelectValue', id: `${item.id}_status`, name: option.name, optionId: option.id, updatedAt: item.updatedAt, createdAt: item.updatedAt };
    },
  });

  const fieldOf = (project: FakeProject): Json => ({
    __typename: 'ProjectV2SingleSelectField',
    id: project.field.id,
    name: project.field.name,
    dataType: 'SINGLE_SELECT',
    options: project.field.options.map((o) => ({ id: o.id, name: o.name, nameHTML: o.name, color: 'GRAY', description: '', descriptionHTML: '' })),
  });

  const projectOf = (project: FakeProject): Json => ({
    __typename: 'ProjectV2',
    id: project.id,
    number: project.number,
    title: project.title,
    closed: false,
    owner: { __typename: project.ownerType, login: project.owner, id: `O_${project.owner}` },
    field: ({ name }: { name: string }) => (name.toLowerCase() === project.field.name.toLowerCase() ? fieldOf(project) : null),
    fields: () => connection([fieldOf(project)]),
    items: () => connection(state.items.filter((i) => i.project === project).map(itemOf)),
  });

  const issueOf = (issue: FakeIssue): Json => ({
    __typename: 'Issue',
    id: issue.nodeId,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state.toUpperCase(),
    url: `${state.htmlBase}/${issue.repo.owner}/${issue.repo.name}/issues/${issue.number}`,
    labels: () => connection(issue.labels.map((name) => ({ __typename: 'Label', id: `LA_${name}`, name, color: 'ededed' }))),
    repository: () => repositoryOf(issue.repo.owner, issue.repo.name),
    projectItems: () => connection(state.items.filter((i) => i.issue === issue).map(itemOf)),
  });

  const repositoryOf = (owner: string, name: string): Json => {
    const repo = state.repo(owner, name);
    if (!repo) return null;
    return {
      __typename: 'Repository',
      id: `R_${repo.id}`,
      name: repo.name,
      nameWithOwner: `${repo.owner}/${repo.name}`,
      owner: { __typename: 'Organization', login: repo.owner, id: `O_${repo.owner}` },
      issue: ({ number }: { number: number }) => {
        const issue = state.issue(repo, number);
        return issue ? issueOf(issue) : null;
      },
    };
  };

  const ownerOf = (login: string, type: 'Organization' | 'User'): Json => ({
    __typename: type,
    id: `O_${login}`,
    login,
    projectV2: ({ number }: { number: number }) => {
      const project = state.projects.find((p) => p.number === number && p.owner.toLowerCase() === login.toLowerCase());
      return project ? projectOf(project) : null;
    },
  });

  return {
    node: ({ id }: { id: string }) => {
      const item = state.items.find((i) => i.id === id);
      if (item) return itemOf(item);
      const project = state.projects.find((p) => p.id === id);
      if (project) return projectOf(project);
      const issue = state.issues.find((i) => i.nodeId === id);
      return issue ? issueOf(issue) : null;
    },
    repository: ({ owner, name }: { owner: string; name: string }) => repositoryOf(owner, name),
    organization: ({ login }: { login: string }) => ownerOf(login, 'Organization'),
    user: ({ login }: { login: string }) => ownerOf(login, 'User'),
    repositoryOwner: ({ login }: { login: string }) =>
      ownerOf(login, state.projects.find((p) => p.owner.toLowerCase() === login.toLowerCase())?.ownerType ?? 'Organization'),
    updateProjectV2ItemFieldValue: ({ input }: { input: Json }) => {
      const item = state.items.find((i) => i.id === input.itemId && i.project.id === input.projectId);
      if (!item) throw new Error(`Could not resolve to a ProjectV2Item with the id ${input.itemId} in project ${input.projectId}`);
      if (input.fieldId !== item.project.field.id) throw new Error(`field ${input.fieldId} is not in project ${item.project.id}`);
      const optionId = input.value?.singleSelectOptionId;
      if (!item.project.field.options.some((o) => o.id === optionId)) throw new Error(`option ${optionId} is not an option of the field`);
      const previous = item.optionId;
      item.optionId = optionId;
      item.updatedAt = state.now();
      hooks.onItemStatusChanged(item, previous);
      return { clientMutationId: input.clientMutationId ?? null, projectV2Item: itemOf(item) };
    },
  };
}

function connection(nodes: Json[]): Json {
  return { nodes, edges: nodes.map((node) => ({ node, cursor: null })), totalCount: nodes.length, pageInfo: { hasNextPage: false, hasPreviousPage: false, endCursor: null, startCursor: null } };
}
