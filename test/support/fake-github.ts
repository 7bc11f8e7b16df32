/**
 * A local HTTP server that plays GitHub for integration tests: the REST and GraphQL subset Ouija calls, with
 * state (issues, labels, comments, pull requests, reviews, Projects v2 items). Every request is checked
 * against GitHub's published contract (fake-github/contract.ts); what real GitHub would refuse is answered
 * 400 and recorded in `violations`, which tests assert is empty. Like GitHub, it sends signed webhooks when
 * something changes (Ouija's own changes included, so their echoes are exercised), one at a time, in order.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhooks } from '@octokit/webhooks';
import { bodyProblem, matchRestOperation } from './fake-github/contract';
import { runGraphql } from './fake-github/graphql';
import { FakeState, type Association, type FakeIssue, type FakeItem, type FakePull, type FakeRepo, type FakeUser, type Json } from './fake-github/state';

export const GITHUB_TEST_SECRET = 'test-github-webhook-secret';
export const GITHUB_TEST_TOKEN = 'ghs_test_token';
/** The user Ouija's token belongs to. */
export const OUIJA_BOT: FakeUser = { login: 'ouija-bot', association: 'COLLABORATOR' };

const EXAMPLES: Array<{ name: string; examples: Json[] }> = require('@octokit/webhooks-examples');

export interface WebhookDelivery {
  id: string;
  event: string;
  action?: string;
  status: number;
  response: string;
}

interface Reply {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
}

type Handler = (req: { params: Record<string, string>; query: URLSearchParams; body: Json }) => Reply;

export class FakeGitHub {
  readonly state: FakeState;
  /** Requests real GitHub would have refused (unknown operation, missing required body fields, invalid GraphQL). */
  readonly violations: string[] = [];
  readonly requests: Array<{ method: string; path: string; operationId?: string }> = [];
  readonly deliveries: WebhookDelivery[] = [];
  private webhookTarget: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private raceOnNextPullCreate = false;
  private readonly signer: Webhooks;
  private readonly handlers: Record<string, Handler>;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly secret: string,
    readonly token: string,
  ) {
    this.state = new FakeState('https://github.example');
    this.signer = new Webhooks({ secret });
    this.handlers = this.restHandlers();
    server.on('request', (req, res) => void this.handle(req, res));
  }

  static async start(options: { secret?: string; token?: string } = {}): Promise<FakeGitHub> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new FakeGitHub(server, url, options.secret ?? GITHUB_TEST_SECRET, options.token ?? GITHUB_TEST_TOKEN);
  }

  async stop(): Promise<void> {
    await this.settled();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Seeding and playing the humans on GitHub.

  /** Where GitHub's own webhooks go (Ouija's base URL or its /webhooks/github URL); null = record only. */
  deliverTo(ouijaUrl: string | null): void {
    this.webhookTarget = ouijaUrl;
  }

  addRepo(owner: string, name: string, options: { defaultBranch?: string; gitDir?: string } = {}): FakeRepo {
    const repo: FakeRepo = { owner, name, defaultBranch: options.defaultBranch ?? 'main', gitDir: options.gitDir, id: this.state.id(), nextNumber: 1 };
    this.state.repos.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  /** Seeds an issue; its labels are recorded as added at creation (as GitHub's events API shows them), without webhooks. */
  addIssue(repo: FakeRepo, input: { title: string; body?: string; labels?: string[]; user?: FakeUser }): FakeIssue {
    const createdAt = this.state.now();
    const issue: FakeIssue = {
      repo,
      number: repo.nextNumber++,
      id: this.state.id(),
      nodeId: `I_${crypto.randomUUID().slice(0, 12)}`,
      title: input.title,
      body: input.body ?? '',
      state: 'open',
      labels: [...(input.labels ?? [])],
      user: input.user ?? { login: 'alice', association: 'OWNER' },
      createdAt,
      updatedAt: createdAt,
    };
    this.state.issues.push(issue);
    for (const label of issue.labels) this.state.issueEvents.push({ issue, id: this.state.id(), event: 'labeled', label, actor: issue.user, createdAt });
    return issue;
  }

  addProject(owner: string, number: number, options: { statusField?: string; options?: string[]; ownerType?: 'Organization' | 'User' } = {}) {
    const names = options.options ?? ['Todo', 'In Progress', 'In Review', 'Done'];
    const project = {
      id: `PVT_${crypto.randomUUID().slice(0, 12)}`,
      number,
      owner,
      ownerType: options.ownerType ?? 'Organization',
      title: `Project ${number}`,
      field: { id: `PVTSSF_${crypto.randomUUID().slice(0, 12)}`, name: options.statusField ?? 'Status', options: names.map((name, i) => ({ id: `opt${i}_${name.replace(/\W/g, '')}`, name })) },
    } as const;
    const copy = { ...project, field: { ...project.field, options: [...project.field.options] } };
    this.state.projects.push(copy);
    return copy;
  }

  addToProject(project: FakeGitHub['state']['projects'][number], issue: FakeIssue, status?: string): FakeItem {
    const item: FakeItem = {
      id: `PVTI_${crypto.randomUUID().slice(0, 12)}`,
      dbId: this.state.id(),
      project,
      issue,
      optionId: status ? this.optionId(project, status) : null,
      updatedAt: this.state.now(),
    };
    this.state.items.push(item);
    return item;
  }

  /** A human drags the item to another column. */
  moveItem(item: FakeItem, status: string, sender: FakeUser = { login: 'alice', association: 'OWNER' }): void {
    const previous = item.optionId;
    item.optionId = this.optionId(item.project, status);
    item.updatedAt = this.state.now();
    this.itemEdited(item, previous, sender);
  }

  itemStatus(item: FakeItem): string | null {
    return item.project.field.options.find((o) => o.id === item.optionId)?.name ?? null;
  }

  /** A human labels an issue. */
  label(issue: FakeIssue, name: string, sender: FakeUser = { login: 'alice', association: 'OWNER' }): void {
    if (issue.labels.some((l) => l.toLowerCase() === name.toLowerCase())) return;
    issue.labels.push(name);
    this.labelChanged(issue, 'labeled', name, sender);
  }

  /** A human removes a label from an issue (no-op when it is not there). */
  unlabel(issue: FakeIssue, name: string, sender: FakeUser = { login: 'alice', association: 'OWNER' }): void {
    const index = issue.labels.findIndex((l) => l.toLowerCase() === name.toLowerCase());
    if (index < 0) return;
    const [removed] = issue.labels.splice(index, 1);
    this.labelChanged(issue, 'unlabeled', removed!, sender);
  }

  /** A human comments on an issue or pull request. */
  comment(repo: FakeRepo, number: number, body: string, user: FakeUser): void {
    this.addComment(repo, number, body, user);
  }

  /** A human reviews a pull request, optionally with inline comments (all theirs, as on GitHub). */
  review(pull: FakePull, input: { user: FakeUser; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED'; body?: string; comments?: Array<{ path: string; line: number; body: string }> }): number {
    const review = { repo: pull.repo, pull: pull.number, id: this.state.id(), state: input.state, body: input.body ?? '', user: input.user, submittedAt: this.state.now() };
    this.state.reviews.push(review);
    for (const c of input.comments ?? []) {
      this.state.reviewComments.push({ repo: pull.repo, pull: pull.number, reviewId: review.id, id: this.state.id(), body: c.body, path: c.path, line: c.line, user: input.user, createdAt: this.state.now() });
    }
    this.send('pull_request_review', 'submitted', { review: this.state.reviewJson(review), pull_request: this.state.pullJson(pull), repository: this.state.repoJson(pull.repo), sender: this.state.user(input.user) });
    return review.id;
  }

  /** A human merges a pull request. */
  merge(pull: FakePull, sender: FakeUser = { login: 'alice', association: 'OWNER' }): void {
    pull.state = 'closed';
    pull.merged = true;
    this.send('pull_request', 'closed', { number: pull.number, pull_request: this.state.pullJson(pull), repository: this.state.repoJson(pull.repo), sender: this.state.user(sender) });
  }

  /** The next pulls.create creates the PR but answers 422 "already exists", as when a concurrent attempt won. */
  raceNextPullCreate(): void {
    this.raceOnNextPullCreate = true;
  }

  pullsOf(repo: FakeRepo): FakePull[] {
    return this.state.pulls.filter((p) => p.repo === repo);
  }

  commentsOf(repo: FakeRepo, number: number) {
    return this.state.comments.filter((c) => c.repo === repo && c.number === number);
  }

  /** Resolves when every webhook queued so far has been delivered. */
  async settled(): Promise<void> {
    let current;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  /** Sends one signed webhook to `ouijaUrl` (its base URL or its /webhooks/github URL) now. */
  async sendWebhook(ouijaUrl: string, event: string, payload: Json, deliveryId: string = crypto.randomUUID()): Promise<{ status: number; body: string }> {
    const body = JSON.stringify(payload);
    const target = new URL(ouijaUrl);
    if (target.pathname === '/' || target.pathname === '') target.pathname = '/webhooks/github';
    const res = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/fake',
        'x-github-event': event,
        'x-github-delivery': deliveryId,
        'x-hub-signature-256': await this.signer.sign(body),
      },
      body,
    });
    return { status: res.status, body: await res.text() };
  }

  // -------------------------------------------------------------------------------------------
  // Webhooks GitHub itself sends.

  /** Queues a delivery; payloads start from a real example of the event (@octokit/webhooks-examples). */
  private send(event: string, action: string, fields: Json): void {
    const example = EXAMPLES.find((e) => e.name === event)?.examples.find((x) => x.action === action) ?? {};
    const payload = { ...structuredClone(example), ...fields, action };
    const id = crypto.randomUUID();
    this.queue = this.queue.then(async () => {
      if (!this.webhookTarget) {
        this.deliveries.push({ id, event, action, status: 0, response: 'not delivered: no target' });
        return;
      }
      const { status, body } = await this.sendWebhook(this.webhookTarget, event, payload, id).catch((err: Error) => ({ status: -1, body: err.message }));
      this.deliveries.push({ id, event, action, status, response: body });
    });
  }

  private issueEvent(action: string, issue: FakeIssue, sender: FakeUser, extra: Json = {}): void {
    this.send('issues', action, { issue: this.state.issueJson(issue), repository: this.state.repoJson(issue.repo), sender: this.state.user(sender), ...extra });
  }

  /** A label added or removed: the issue is updated, the events API records it, and the webhook goes out. */
  private labelChanged(issue: FakeIssue, event: 'labeled' | 'unlabeled', name: string, sender: FakeUser): void {
    const at = this.state.now();
    issue.updatedAt = at;
    this.state.issueEvents.push({ issue, id: this.state.id(), event, label: name, actor: sender, createdAt: at });
    this.issueEvent(event, issue, sender, { label: labelJson(name) });
  }

  private itemEdited(item: FakeItem, previous: string | null, sender: FakeUser): void {
    const option = (id: string | null) => item.project.field.options.find((o) => o.id === id) ?? null;
    this.send('projects_v2_item', 'edited', {
      projects_v2_item: {
        id: item.dbId,
        node_id: item.id,
        project_node_id: item.project.id,
        content_node_id: item.issue.nodeId,
        content_type: 'Issue',
        creator: this.state.user(sender),
        created_at: item.updatedAt,
        updated_at: item.updatedAt,
        archived_at: null,
      },
      changes: {
        field_value: {
          field_node_id: item.project.field.id,
          field_type: 'single_select',
          field_name: item.project.field.name,
          from: option(previous),
          to: option(item.optionId),
        },
      },
      organization: { login: item.project.owner, id: 1, node_id: `O_${item.project.owner}` },
      sender: this.state.user(sender),
    });
  }

  private addComment(repo: FakeRepo, number: number, body: string, user: FakeUser): Json {
    const comment = { repo, number, id: this.state.id(), body, user, createdAt: this.state.now() };
    this.state.comments.push(comment);
    const pull = this.state.pull(repo, number);
    // A comment updates its issue, as on GitHub (so updated_at says nothing about the issue's labels).
    if (!pull) this.state.issue(repo, number)!.updatedAt = comment.createdAt;
    const issue = pull ? this.state.pullAsIssueJson(pull) : this.state.issueJson(this.state.issue(repo, number)!);
    const json = this.state.commentJson(comment);
    this.send('issue_comment', 'created', { issue, comment: json, repository: this.state.repoJson(repo), sender: this.state.user(user) });
    return json;
  }

  private optionId(project: FakeGitHub['state']['projects'][number], status: string): string {
    const option = project.field.options.find((o) => o.name === status);
    if (!option) throw new Error(`project ${project.number} has no status ${status}`);
    return option.id;
  }

  // -------------------------------------------------------------------------------------------
  // The API.

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const reply = (r: Reply) => {
      res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', ...(r.headers ?? {}) });
      res.end(r.body === undefined ? '' : JSON.stringify(r.body));
    };
    const refuse = (why: string, status = 400) => {
      this.violations.push(`${method} ${url.pathname}: ${why}`);
      reply({ status, body: { message: why } });
    };
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${this.token}` && auth !== `Bearer ${this.token}`) return refuse('missing or wrong token', 401);
    let body: Json;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return refuse('body is not JSON');
    }

    if (method === 'POST' && url.pathname === '/graphql') {
      this.requests.push({ method, path: url.pathname, operationId: 'graphql' });
      const { body: answer, violations } = await runGraphql(this.state, { onItemStatusChanged: (item, previous) => this.itemEdited(item, previous, OUIJA_BOT) }, body ?? {});
      this.violations.push(...violations);
      return reply({ status: violations.length > 0 ? 400 : 200, body: answer });
    }

    const match = matchRestOperation(method, url.pathname);
    if (!match) return refuse('no such operation in the GitHub REST API');
    this.requests.push({ method, path: url.pathname, operationId: match.op.operationId });
    const problem = bodyProblem(match.op, body);
    if (problem) return refuse(problem, 422);
    const handler = this.handlers[match.op.operationId];
    if (!handler) return refuse(`${match.op.operationId} is valid on GitHub but not implemented by the fake`, 501);
    try {
      reply(handler({ params: match.params, query: url.searchParams, body }));
    } catch (err) {
      reply({ status: 500, body: { message: (err as Error).message } });
    }
  }

  private restHandlers(): Record<string, Handler> {
    const state = this.state;
    const notFound: Reply = { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
    const repoOf = (params: Record<string, string>) => state.repo(params.owner!, params.repo!);
    const number = (value: string | undefined) => Number(value);
    const page = <T>(list: T[], query: URLSearchParams, path: string): Reply => {
      const perPage = Math.min(Number(query.get('per_page') ?? 30), 100);
      const current = Number(query.get('page') ?? 1);
      const slice = list.slice((current - 1) * perPage, current * perPage);
      const headers: Record<string, string> = {};
      if (current * perPage < list.length) {
        const next = new URLSearchParams(query);
        next.set('page', String(current + 1));
        headers.link = `<${this.url}${path}?${next}>; rel="next"`;
      }
      return { status: 200, body: slice, headers };
    };

    return {
      'repos/get': ({ params }) => {
        const repo = repoOf(params);
        return repo ? { status: 200, body: state.repoJson(repo) } : notFound;
      },

      'git/get-commit': ({ params }) => {
        const repo = repoOf(params);
        const commit = repo && state.gitCommitJson(repo, params.commit_sha!);
        return commit ? { status: 200, body: commit } : notFound;
      },

      'issues/get': ({ params }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const issue = state.issue(repo, number(params.issue_number));
        const pull = state.pull(repo, number(params.issue_number));
        if (issue) return { status: 200, body: state.issueJson(issue) };
        return pull ? { status: 200, body: state.pullAsIssueJson(pull) } : notFound;
      },

      'issues/list-for-repo': ({ params, query }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const wantState = query.get('state') ?? 'open';
        const labels = (query.get('labels') ?? '').split(',').filter(Boolean).map((l) => l.toLowerCase());
        const list = state.issues
          .filter((i) => i.repo === repo && (wantState === 'all' || i.state === wantState))
          .filter((i) => labels.every((l) => i.labels.some((have) => have.toLowerCase() === l)));
        return page(list.map((i) => state.issueJson(i)), query, `/repos/${repo.owner}/${repo.name}/issues`);
      },

      'issues/add-labels': ({ params, body }) => {
        const repo = repoOf(params);
        const issue = repo && state.issue(repo, number(params.issue_number));
        if (!issue) return notFound;
        const wanted: Json[] = Array.isArray(body) ? body : (body?.labels ?? []);
        for (const entry of wanted) {
          const name: string = typeof entry === 'string' ? entry : entry.name;
          if (issue.labels.some((l) => l.toLowerCase() === name.toLowerCase())) continue;
          issue.labels.push(name);
          this.labelChanged(issue, 'labeled', name, OUIJA_BOT);
        }
        return { status: 200, body: state.issueJson(issue).labels };
      },

      'issues/remove-label': ({ params }) => {
        const repo = repoOf(params);
        const issue = repo && state.issue(repo, number(params.issue_number));
        if (!issue) return notFound;
        const index = issue.labels.findIndex((l) => l.toLowerCase() === params.name!.toLowerCase());
        if (index < 0) return { status: 404, body: { message: 'Label does not exist' } };
        const [removed] = issue.labels.splice(index, 1);
        this.labelChanged(issue, 'unlabeled', removed!, OUIJA_BOT);
        return { status: 200, body: state.issueJson(issue).labels };
      },

      'issues/list-events': ({ params, query }) => {
        const repo = repoOf(params);
        const issue = repo && state.issue(repo, number(params.issue_number));
        if (!issue) return notFound;
        // Oldest first, as GitHub lists them.
        const list = state.issueEvents.filter((e) => e.issue === issue).map((e) => state.issueEventJson(e));
        return page(list, query, `/repos/${issue.repo.owner}/${issue.repo.name}/issues/${issue.number}/events`);
      },

      'issues/list-comments': ({ params, query }) => {
        const repo = repoOf(params);
        const n = number(params.issue_number);
        if (!repo || (!state.issue(repo, n) && !state.pull(repo, n))) return notFound;
        const since = query.get('since');
        const list = this.commentsOf(repo, n).filter((c) => !since || c.createdAt >= since);
        return page(list.map((c) => state.commentJson(c)), query, `/repos/${repo.owner}/${repo.name}/issues/${n}/comments`);
      },

      'issues/create-comment': ({ params, body }) => {
        const repo = repoOf(params);
        const n = number(params.issue_number);
        if (!repo || (!state.issue(repo, n) && !state.pull(repo, n))) return notFound;
        return { status: 201, body: this.addComment(repo, n, body.body, OUIJA_BOT) };
      },

      'pulls/list': ({ params, query }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const wantState = query.get('state') ?? 'open';
        const head = query.get('head');
        const list = this.pullsOf(repo)
          .filter((p) => wantState === 'all' || p.state === wantState)
          .filter((p) => !head || head === `${repo.owner}:${p.head}`);
        return page(list.map((p) => state.pullJson(p)), query, `/repos/${repo.owner}/${repo.name}/pulls`);
      },

      'pulls/get': ({ params }) => {
        const repo = repoOf(params);
        const pull = repo && state.pull(repo, number(params.pull_number));
        return pull ? { status: 200, body: state.pullJson(pull) } : notFound;
      },

      'pulls/create': ({ params, body }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const head = String(body.head).replace(new RegExp(`^${repo.owner}:`), '');
        if (repo.gitDir && !state.branchSha(repo, head)) return validationFailed(`head ${head} does not exist`);
        const existing = this.pullsOf(repo).find((p) => p.state === 'open' && p.head === head && p.base === body.base);
        const exists = validationFailed(`A pull request already exists for ${repo.owner}:${head}.`);
        if (existing) return exists;
        const pull: FakePull = {
          repo,
          number: repo.nextNumber++,
          id: state.id(),
          nodeId: `PR_${crypto.randomUUID().slice(0, 12)}`,
          title: body.title ?? '',
          body: body.body ?? '',
          state: 'open',
          merged: false,
          head,
          base: body.base,
          user: OUIJA_BOT,
          createdAt: state.now(),
        };
        state.pulls.push(pull);
        this.send('pull_request', 'opened', { number: pull.number, pull_request: state.pullJson(pull), repository: state.repoJson(repo), sender: state.user(OUIJA_BOT) });
        if (this.raceOnNextPullCreate) {
          this.raceOnNextPullCreate = false;
          return exists;
        }
        return { status: 201, body: state.pullJson(pull) };
      },

      'pulls/update': ({ params, body }) => {
        const repo = repoOf(params);
        const pull = repo && state.pull(repo, number(params.pull_number));
        if (!pull) return notFound;
        if (body.title !== undefined) pull.title = body.title;
        if (body.body !== undefined) pull.body = body.body;
        if (body.state !== undefined) pull.state = body.state;
        this.send('pull_request', 'edited', { number: pull.number, pull_request: state.pullJson(pull), repository: state.repoJson(pull.repo), sender: state.user(OUIJA_BOT), changes: {} });
        return { status: 200, body: state.pullJson(pull) };
      },

      'pulls/list-reviews': ({ params, query }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const n = number(params.pull_number);
        return page(state.reviews.filter((r) => r.repo === repo && r.pull === n).map((r) => state.reviewJson(r)), query, `/repos/${repo.owner}/${repo.name}/pulls/${n}/reviews`);
      },

      'pulls/list-comments-for-review': ({ params, query }) => {
        const repo = repoOf(params);
        if (!repo) return notFound;
        const n = number(params.pull_number);
        const reviewId = number(params.review_id);
        if (!state.reviews.some((r) => r.repo === repo && r.pull === n && r.id === reviewId)) return notFound;
        const list = state.reviewComments.filter((c) => c.repo === repo && c.pull === n && c.reviewId === reviewId);
        return page(list.map((c) => state.reviewCommentJson(c)), query, `/repos/${repo.owner}/${repo.name}/pulls/${n}/reviews/${reviewId}/comments`);
      },
    };
  }
}

function labelJson(name: string): Json {
  return { id: 1, node_id: `LA_${name}`, name, color: 'ededed', default: false, description: null };
}

function validationFailed(message: string): Reply {
  return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message }], documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request' } };
}

export type { Association, FakeIssue, FakeItem, FakePull, FakeRepo, FakeUser };
