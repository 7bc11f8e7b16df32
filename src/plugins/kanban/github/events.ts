/**
 * GitHub webhook events → card triggers, as pure functions (no I/O). Two events need a look-up first, which the
 * webhook provider does and then feeds back here: a Projects v2 item edit names only node IDs
 * (`projectItemTrigger`), and a changes-requested review's inline and conversation comments live behind the
 * API (`withFetchedComments`).
 */
import { z } from 'zod';
import { fingerprint, isSafeBranchName, parseCardKey } from '../../../core/cards';
import type { CardInfo, ExternalTrigger, ReviewComment } from '../../../core/types';
import type { GithubSettings } from '../../../config';
import { MalformedPayloadError } from '../types';
import { cardFromIssue, cardKeyFromMarker, cloneUrlFor, isConfiguredRepo, labelNames, type RepoName } from './cards';
import type { FetchedReviewComment, ReviewCommentsQuery } from './review-comments';
import { roleFromLabels, roleFromStatus } from './columns';

/** Authors whose review comments count: those with write access to the repository. */
export const WRITE_ACCESS_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

export type { FetchedReviewComment, ReviewCommentsQuery };
export type FetchReviewComments = (query: ReviewCommentsQuery) => Promise<FetchedReviewComment[]>;

/** A Projects v2 item as the GraphQL look-up found it (project.ts's answer fits). */
export interface ResolvedProjectItem {
  /** The name of the item's option in the configured status field; null when unset. */
  status: string | null;
  /** Null for draft issues and pull requests. Title and body, when the look-up has them, become the card's. */
  issue: (RepoName & { number: number; title?: string; body?: string | null }) | null;
  /** The status field's node ID, when known: edits of other fields are then ignored. */
  statusFieldId?: string;
  /** The project the item is on, when known: items on other projects are then ignored. */
  project?: { owner: string; number: number };
}
/** `contentNodeId` (the issue's node ID) lets the resolver find the issue of an item that no longer exists. */
export type ResolveProjectItem = (itemNodeId: string, contentNodeId?: string) => Promise<ResolvedProjectItem | null>;

export interface ProjectItemLookup {
  action: string;
  itemNodeId: string;
  contentNodeId: string | null;
  /** The field an `edited` event changed (null for other actions, or edits that are not field values). */
  editedFieldId: string | null;
}

export type GithubMapping =
  | { card: CardInfo; trigger: ExternalTrigger; fetchComments?: ReviewCommentsQuery }
  | { ignored: string }
  | { lookupProjectItem: ProjectItemLookup };

type Github = GithubSettings;

// ---------------------------------------------------------------------------------------------
// Payload shapes: only the fields read here (zod strips the rest).

const repository = z.object({ name: z.string(), owner: z.object({ login: z.string() }), full_name: z.string() });
const label = z.object({ name: z.string() });
const issue = z.object({ number: z.number().int().positive(), title: z.string(), body: z.string().nullish(), labels: z.array(label).nullish() });
const pullRequest = z.object({
  number: z.number().int().positive(),
  body: z.string().nullish(),
  merged: z.boolean().nullish(),
  head: z.object({ ref: z.string(), sha: z.string().nullish(), repo: z.object({ full_name: z.string() }).nullish() }),
});
const issuesPayload = z.object({ action: z.string(), repository, issue, label: label.nullish() });
const pullRequestPayload = z.object({ action: z.string(), repository, pull_request: pullRequest });
const reviewPayload = pullRequestPayload.extend({
  review: z.object({
    id: z.number().int(),
    state: z.string(),
    body: z.string().nullish(),
    author_association: z.string(),
    user: z.object({ login: z.string() }).nullish(),
  }),
});
const projectItemPayload = z.object({
  action: z.string(),
  projects_v2_item: z.object({ node_id: z.string(), content_node_id: z.string().nullish(), content_type: z.string() }),
  changes: z.object({ field_value: z.object({ field_node_id: z.string() }).nullish() }).nullish(),
});

function parse<T>(schema: z.ZodType<T>, payload: unknown, event: string): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MalformedPayloadError(`not a ${event} payload: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  return parsed.data;
}

function repoName(r: z.infer<typeof repository>): RepoName {
  return { owner: r.owner.login, repo: r.name };
}

// ---------------------------------------------------------------------------------------------
// Columns.

/** The role of an issue from its current labels: done > review > working > other (so a move's echo reads right). */
export { roleFromLabels, roleFromStatus } from './columns';

function isOuijaLabel(name: string, names: Github['labels']): boolean {
  return [names.working, names.review, names.done].some((n) => n.toLowerCase() === name.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// The mapping.

export function githubTrigger(event: string, payload: unknown, github: Github, deliveryId: string): GithubMapping {
  switch (event) {
    case 'issues':
      return issuesTrigger(parse(issuesPayload, payload, event), github, deliveryId);
    case 'projects_v2_item':
      return projectItemEvent(parse(projectItemPayload, payload, event), github);
    case 'pull_request':
      return pullRequestTrigger(parse(pullRequestPayload, payload, event), github, deliveryId);
    case 'pull_request_review':
      return reviewTrigger(parse(reviewPayload, payload, event), github, deliveryId);
    case 'pull_request_review_comment':
    case 'issue_comment':
      return { ignored: `${event}: comments are collected when a review requests changes` };
    case 'ping':
      return { ignored: 'ping: the webhook is set up' };
    default:
      return { ignored: `event ${event} is not one Ouija acts on` };
  }
}

function issuesTrigger(p: z.infer<typeof issuesPayload>, github: Github, deliveryId: string): GithubMapping {
  const name = repoName(p.repository);
  if (!isConfiguredRepo(name, github)) return { ignored: `repository ${p.repository.full_name} is not in github.repos` };
  const card = cardFromIssue({ ...name, ...p.issue }, github);
  const labels = labelNames(p.issue);
  // With a project configured its Status field is the column; labels are then just labels.
  const labelsAreColumns = github.project === undefined;
  switch (p.action) {
    case 'labeled':
    case 'unlabeled':
      if (!labelsAreColumns) return { ignored: 'columns come from the project, not labels' };
      // Another label changes no column; acting on it could restart a failed card still labelled working.
      if (!p.label || !isOuijaLabel(p.label.name, github.labels)) return { ignored: `label ${JSON.stringify(p.label?.name ?? null)} is not a column label` };
      return { card, trigger: { type: 'card.moved', deliveryId, column: roleFromLabels(labels, github.labels), card } };
    case 'opened':
    case 'reopened':
      if (!labelsAreColumns) return { ignored: `issue ${p.action}: columns come from the project, not labels` };
      if (roleFromLabels(labels, github.labels) !== 'working') return { ignored: `issue ${p.action} without the ${github.labels.working} label` };
      return { card, trigger: { type: 'card.moved', deliveryId, column: 'working', card } };
    case 'edited':
      return { card, trigger: { type: 'card.edited', deliveryId, card } };
    case 'closed':
    case 'deleted':
    case 'transferred':
      // The card (this repository's issue) is gone or finished with: whatever runs for it stops.
      return { card, trigger: { type: 'card.deleted', deliveryId } };
    default:
      return { ignored: `issues.${p.action} does not concern Ouija` };
  }
}

const PROJECT_ITEM_LOOKUPS = ['edited', 'archived', 'deleted', 'restored', 'converted', 'created'];

function projectItemEvent(p: z.infer<typeof projectItemPayload>, github: Github): GithubMapping {
  if (!github.project) return { ignored: 'no github.project configured' };
  if (!PROJECT_ITEM_LOOKUPS.includes(p.action)) return { ignored: `projects_v2_item.${p.action} moves no card` };
  if (p.projects_v2_item.content_type !== 'Issue') return { ignored: `project item is a ${p.projects_v2_item.content_type}, not an issue` };
  if (p.action === 'edited' && !p.changes?.field_value) return { ignored: 'project item edit changed no field value' };
  return {
    lookupProjectItem: {
      action: p.action,
      itemNodeId: p.projects_v2_item.node_id,
      contentNodeId: p.projects_v2_item.content_node_id ?? null,
      editedFieldId: p.changes?.field_value?.field_node_id ?? null,
    },
  };
}

/** The second half of a projects_v2_item event, once `resolveProjectItem` has answered. */
export function projectItemTrigger(lookup: ProjectItemLookup, item: ResolvedProjectItem | null, github: Github, deliveryId: string): GithubMapping {
  const project = github.project;
  if (!project) return { ignored: 'no github.project configured' };
  if (!item?.issue) return { ignored: `project item ${lookup.itemNodeId} not found, or not an issue` };
  if (item.project && (item.project.owner.toLowerCase() !== project.owner.toLowerCase() || item.project.number !== project.number)) {
    return { ignored: `project item is on project ${item.project.owner}#${item.project.number}, not the configured one` };
  }
  if (lookup.editedFieldId && item.statusFieldId && lookup.editedFieldId !== item.statusFieldId) return { ignored: `a field other than ${project.statusField} was edited` };
  const { issue } = item;
  if (!isConfiguredRepo(issue, github)) return { ignored: `repository ${issue.owner}/${issue.repo} is not in github.repos` };
  const card = cardFromIssue({ ...issue, title: issue.title ?? '' }, github);
  if (lookup.action === 'deleted') return { card, trigger: { type: 'card.deleted', deliveryId } };
  const column = lookup.action === 'archived' ? 'other' : roleFromStatus(item.status, project.columns);
  return { card, trigger: { type: 'card.moved', deliveryId, column, card } };
}

/**
 * The card a pull request belongs to: from the marker Ouija's forge wrote in its body, and only when the PR's
 * head is that card's branch in the same repository (a fork or a hand-made PR cannot speak for a card).
 */
function cardOfPullRequest(p: z.infer<typeof pullRequestPayload>, github: Github): { card: CardInfo } | { ignored: string } {
  const key = cardKeyFromMarker(p.pull_request.body);
  if (!key) return { ignored: `pull request #${p.pull_request.number} has no Ouija card marker` };
  const head = p.pull_request.head;
  if (head.repo?.full_name.toLowerCase() !== p.repository.full_name.toLowerCase()) return { ignored: `pull request #${p.pull_request.number} comes from another repository` };
  if (!isSafeBranchName(head.ref) || !head.ref.endsWith(`-${fingerprint(key)}`)) return { ignored: `pull request #${p.pull_request.number}'s branch is not card ${key}'s` };
  const ref = parseCardKey(key);
  // Only the key matters for signals to a running card; the rest is for logs.
  return { card: { ref, key, title: '', body: '', repo: cloneUrlFor(repoName(p.repository), github) } };
}

function pullRequestTrigger(p: z.infer<typeof pullRequestPayload>, github: Github, deliveryId: string): GithubMapping {
  if (!isConfiguredRepo(repoName(p.repository), github)) return { ignored: `repository ${p.repository.full_name} is not in github.repos` };
  if (p.action !== 'closed') return { ignored: `pull_request.${p.action} does not concern Ouija` };
  const found = cardOfPullRequest(p, github);
  if ('ignored' in found) return found;
  return { card: found.card, trigger: { type: p.pull_request.merged ? 'pr.merged' : 'pr.closed', deliveryId } };
}

function reviewTrigger(p: z.infer<typeof reviewPayload>, github: Github, deliveryId: string): GithubMapping {
  if (!isConfiguredRepo(repoName(p.repository), github)) return { ignored: `repository ${p.repository.full_name} is not in github.repos` };
  if (p.action !== 'submitted') return { ignored: `pull_request_review.${p.action} does not concern Ouija` };
  const { review } = p;
  const state = review.state.toLowerCase();
  if (state !== 'approved' && state !== 'changes_requested') return { ignored: `review state ${state} does not concern Ouija` };
  if (!WRITE_ACCESS_ASSOCIATIONS.includes(review.author_association)) {
    return { ignored: `review by ${review.user?.login ?? 'unknown'} (${review.author_association}) without write access` };
  }
  const found = cardOfPullRequest(p, github);
  if ('ignored' in found) return found;
  const by = review.user?.login;
  if (state === 'approved') {
    if (github.doneOn !== 'approved') return { ignored: 'approval: cards are done when merged (github.doneOn)' };
    return { card: found.card, trigger: { type: 'review.approved', deliveryId, ...(by ? { by } : {}) } };
  }
  const body = review.body?.trim();
  const headSha = p.pull_request.head.sha;
  const comments: ReviewComment[] = body ? [{ author: by ?? 'unknown', body }] : [];
  return {
    card: found.card,
    trigger: { type: 'review.changesRequested', deliveryId, comments },
    // The conversation since the reviewed head was committed: earlier rounds' comments were answered by earlier pushes.
    fetchComments: { ...repoName(p.repository), pull: p.pull_request.number, reviewId: review.id, ...(headSha ? { sinceCommit: headSha } : {}) },
  };
}

/** Adds the fetched comments from authors with write access to a changes-requested trigger. */
export function withFetchedComments(trigger: ExternalTrigger, fetched: readonly FetchedReviewComment[]): ExternalTrigger {
  if (trigger.type !== 'review.changesRequested') return trigger;
  const counted = fetched
    .filter((c) => WRITE_ACCESS_ASSOCIATIONS.includes(c.authorAssociation))
    .map(({ author, body, path, line }): ReviewComment => ({ author, body, ...(path ? { path } : {}), ...(line ? { line } : {}) }));
  return { ...trigger, comments: [...trigger.comments, ...counted] };
}
