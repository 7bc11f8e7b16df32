/**
 * GitHub's way out against the fake GitHub (whose requests are checked against GitHub's published REST and
 * GraphQL contracts): the forge opens one pull request however often it is called, board moves and comments
 * are idempotent, and the look-ups the webhook parser needs answer what GitHub holds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cardKey } from '../../../src/core/cards';
import type { CardInfo } from '../../../src/core/types';
import { createBareRemote, git } from '../../../src/cli/local-repo';
import { createWorkspaces } from '../../../src/plugins/git';
import { githubForge } from '../../../src/plugins/git/forges/github';
import { cardKeyFromMarker, githubCardRef } from '../../../src/plugins/kanban/github/cards';
import { githubBoardClient } from '../../../src/plugins/kanban/github/board-client';
import { githubClient, type GitHubClient } from '../../../src/plugins/kanban/github/client';
import { resolveProjectItem } from '../../../src/plugins/kanban/github/project';
import { fetchReviewComments } from '../../../src/plugins/kanban/github/review-comments';
import { FakeGitHub, type FakeRepo } from '../../support/fake-github';

const LABELS = { working: 'ouija', review: 'ouija:review', done: 'ouija:done' };
const COLUMNS = { working: ['In Progress'], review: ['In Review'], done: ['Done'] };

let fake: FakeGitHub;
let octokit: GitHubClient;
let repo: FakeRepo;
let remote: string;
let workDir: string;

function cardFor(number: number, title: string): CardInfo {
  const ref = githubCardRef('acme', 'widgets', number);
  return { ref, key: cardKey(ref), title, body: 'issue text', repo: remote };
}

/** A branch on the bare remote, as a push by the publish activity would leave it. */
async function pushBranch(branch: string): Promise<string> {
  await git(remote, 'update-ref', `refs/heads/${branch}`, 'refs/heads/main');
  return git(remote, 'rev-parse', `refs/heads/${branch}`);
}

const countOf = (operationId: string) => fake.requests.filter((r) => r.operationId === operationId).length;

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-gh-forge-'));
  remote = await createBareRemote(workDir);
  fake = await FakeGitHub.start();
  octokit = githubClient({ token: fake.token, apiUrl: fake.url });
  repo = fake.addRepo('acme', 'widgets', { gitDir: remote });
});

afterAll(async () => {
  await fake.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

afterEach(() => {
  expect(fake.violations).toEqual([]);
});

describe('GitHub forge', () => {
  it('opens one pull request across repeated and concurrent calls, and updates its title', async () => {
    const issue = fake.addIssue(repo, { title: 'Fix the widget' });
    const card = cardFor(issue.number, issue.title);
    const branch = 'ouija/fix-the-widget';
    const headSha = await pushBranch(branch);
    const forge = githubForge(octokit);
    const input = { card, branch, headSha, title: card.title, body: card.body, summary: 'Fixed it.' };

    const [a, b] = await Promise.all([forge.openOrUpdateReview(input), forge.openOrUpdateReview(input)]);
    const c = await forge.openOrUpdateReview(input);
    const pulls = fake.pullsOf(repo);
    expect(pulls).toHaveLength(1);
    expect([a.id, b.id, c.id]).toEqual([String(pulls[0]!.number), String(pulls[0]!.number), String(pulls[0]!.number)]);
    expect(c).toEqual({ id: String(pulls[0]!.number), url: expect.stringContaining(`/pull/${pulls[0]!.number}`), headSha });
    expect(pulls[0]!.head).toBe(branch);
    expect(pulls[0]!.base).toBe('main');
    expect(pulls[0]!.body).toContain(`Closes #${issue.number}`);
    expect(pulls[0]!.body).toContain('Fixed it.');
    expect(cardKeyFromMarker(pulls[0]!.body)).toBe(card.key);

    const updatesBefore = countOf('pulls/update');
    await forge.openOrUpdateReview({ ...input, title: 'Fix the widget, properly' });
    expect(pulls[0]!.title).toBe('Fix the widget, properly');
    expect(countOf('pulls/update')).toBe(updatesBefore + 1);
    await forge.openOrUpdateReview({ ...input, title: 'Fix the widget, properly' });
    expect(countOf('pulls/update')).toBe(updatesBefore + 1); // unchanged: no write
  });

  it('treats GitHub\'s 422 "A pull request already exists" as success', async () => {
    const issue = fake.addIssue(repo, { title: 'Race me' });
    const card = cardFor(issue.number, issue.title);
    const branch = 'ouija/race-me';
    const headSha = await pushBranch(branch);
    fake.raceNextPullCreate();
    const review = await githubForge(octokit).openOrUpdateReview({ card, branch, headSha, title: card.title, body: '' });
    const pulls = fake.pullsOf(repo).filter((p) => p.head === branch);
    expect(pulls).toHaveLength(1);
    expect(review.id).toBe(String(pulls[0]!.number));
  });
});

describe('GitHub board client', () => {
  it('moves by labels: adds the new one, removes the old, and does nothing when already there', async () => {
    const issue = fake.addIssue(repo, { title: 'Label me', labels: ['bug', 'ouija'] });
    const card = cardFor(issue.number, issue.title);
    const board = githubBoardClient(octokit, { labels: LABELS, project: undefined });
    await board.moveCard(card, 'review');
    expect(issue.labels).toEqual(['bug', 'ouija:review']);
    await fake.settled();
    const echoes = fake.deliveries.filter((d) => d.event === 'issues').map((d) => d.action);
    expect(echoes.slice(-2)).toEqual(['labeled', 'unlabeled']); // added first: never without a column label

    const writes = countOf('issues/add-labels') + countOf('issues/remove-label');
    await board.moveCard(card, 'review');
    expect(countOf('issues/add-labels') + countOf('issues/remove-label')).toBe(writes);
    await board.moveCard(card, 'other');
    expect(issue.labels).toEqual(['bug']);
  });

  it('moves a project item to the first column of the role, once', async () => {
    const issue = fake.addIssue(repo, { title: 'Project me' });
    const project = fake.addProject('acme', 7);
    const item = fake.addToProject(project, issue, 'In Progress');
    const board = githubBoardClient(octokit, { labels: LABELS, project: { owner: 'acme', number: 7, statusField: 'Status', columns: COLUMNS } });
    const card = cardFor(issue.number, issue.title);

    await board.moveCard(card, 'review');
    expect(fake.itemStatus(item)).toBe('In Review');
    const graphqlCalls = countOf('graphql');
    await board.moveCard(card, 'review');
    expect(countOf('graphql')).toBe(graphqlCalls + 1); // the look-up only, no mutation
    await board.moveCard(card, 'done');
    expect(fake.itemStatus(item)).toBe('Done');
    await fake.settled();
    expect(fake.deliveries.filter((d) => d.event === 'projects_v2_item')).toHaveLength(2);

    const resolved = await resolveProjectItem(octokit, item.id);
    expect(resolved).toEqual({
      itemId: item.id,
      project: { owner: 'acme', number: 7 },
      status: 'Done',
      statusFieldId: project.field.id,
      issue: { owner: 'acme', repo: 'widgets', number: issue.number, title: 'Project me', body: '' },
    });
    expect(await resolveProjectItem(octokit, 'PVTI_nope')).toBeNull();
  });

  it('posts a comment once per comment key', async () => {
    const issue = fake.addIssue(repo, { title: 'Comment me' });
    const card = cardFor(issue.number, issue.title);
    const board = githubBoardClient(octokit, { labels: LABELS, project: undefined });
    await board.comment(card, 'run-1:review', 'Pull request: https://example/pull/1');
    await board.comment(card, 'run-1:review', 'Pull request: https://example/pull/1');
    await board.comment(card, 'run-1:failed', 'It failed');
    const bodies = fake.commentsOf(repo, issue.number).map((c) => c.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toContain('<!-- ouija:comment run-1:review -->');
  });
});

describe('review comments', () => {
  it("returns the review's inline comments and the conversation since a moment, with associations, without Ouija's own", async () => {
    const issue = fake.addIssue(repo, { title: 'Review me' });
    const branch = 'ouija/review-me';
    await pushBranch(branch);
    const card = cardFor(issue.number, issue.title);
    const pr = await githubForge(octokit).openOrUpdateReview({ card, branch, headSha: '', title: card.title, body: '' });
    const pull = fake.pullsOf(repo).find((p) => String(p.number) === pr.id)!;
    fake.comment(repo, pull.number, 'old remark', { login: 'bob', association: 'MEMBER' });
    const since = fake.state.now();
    fake.comment(repo, pull.number, 'please also add a test', { login: 'carol', association: 'COLLABORATOR' });
    fake.comment(repo, pull.number, 'drive-by', { login: 'mallory', association: 'NONE' });
    await githubBoardClient(octokit, { labels: LABELS, project: undefined }).comment({ ...card, ref: { ...card.ref, cardId: String(pull.number) } }, 'k', 'Ouija here');
    const reviewId = fake.review(pull, { user: { login: 'carol', association: 'COLLABORATOR' }, state: 'CHANGES_REQUESTED', comments: [{ path: 'src/a.ts', line: 3, body: 'rename this' }] });

    const comments = await fetchReviewComments(octokit, { owner: 'acme', repo: 'widgets', pull: pull.number, reviewId, since });
    expect(comments.map(({ author, authorAssociation, body, path: file, line }) => ({ author, authorAssociation, body, path: file, line }))).toEqual([
      { author: 'carol', authorAssociation: 'COLLABORATOR', body: 'rename this', path: 'src/a.ts', line: 3 },
      { author: 'carol', authorAssociation: 'COLLABORATOR', body: 'please also add a test', path: undefined, line: undefined },
      { author: 'mallory', authorAssociation: 'NONE', body: 'drive-by', path: undefined, line: undefined },
    ]);
  });
});

describe('the fake holds Ouija to the GitHub contract', () => {
  it('records requests real GitHub would refuse', async () => {
    await expect(octokit.request('POST /repos/acme/widgets/issues/1/comments', {})).rejects.toMatchObject({ status: 422 });
    await expect(octokit.request('GET /repos/{owner}/{repo}/no-such-thing', { owner: 'acme', repo: 'widgets' })).rejects.toMatchObject({ status: 400 });
    await expect(octokit.graphql('query { repository(owner: "acme", name: "widgets") { noSuchField } }')).rejects.toThrow(/noSuchField/);
    expect(fake.violations).toHaveLength(3);
    fake.violations.length = 0;
  });
});

describe('pushing with secret git config', () => {
  it('passes settings to git through the environment and still pushes', async () => {
    const workspaces = createWorkspaces({ root: path.join(workDir, 'ws') });
    const ref = githubCardRef('acme', 'widgets', 999);
    const branch = 'ouija/secret-push';
    const ws = await workspaces.prepare({ cardKey: cardKey(ref), repo: remote, branch });
    fs.writeFileSync(path.join(ws.path, 'x.txt'), 'x\n');
    await workspaces.commitAll({ path: ws.path, message: 'x' });
    const secretConfig = { 'http.https://github.example/.extraheader': 'Authorization: Basic c2VjcmV0' };
    const { remoteSha } = await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null, secretConfig });
    expect(await git(remote, 'rev-parse', `refs/heads/${branch}`)).toBe(remoteSha);
  });
});
