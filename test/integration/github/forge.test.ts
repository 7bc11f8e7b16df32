/**
 * GitHub's way out against the fake GitHub (whose requests are checked against GitHub's published REST and
 * GraphQL contracts): the forge opens one pull request however often it is called, board moves and comments
 * are idempotent, and the look-ups the webhook parser needs answer what GitHub holds.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cardKey } from '../../../src/core/cards';
import type { CardInfo } from '../../../src/core/types';
import { createBareRemote, git } from '../../../src/cli/local-repo';
import { createWorkspaces } from '../../../src/plugins/git';
import { githubForge, ISSUE_TEXT_LIMIT, pullRequestBody } from '../../../src/plugins/git/forges/github';
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

/** A new commit on `branch` in the bare remote, committed at `date` (ISO), as the revision's push would leave it. */
async function commitOn(branch: string, date: string): Promise<string> {
  const tree = await git(remote, 'rev-parse', `refs/heads/${branch}^{tree}`);
  const parent = await git(remote, 'rev-parse', `refs/heads/${branch}`);
  const env = { ...process.env, GIT_AUTHOR_NAME: 'Ouija', GIT_AUTHOR_EMAIL: 'ouija@example.com', GIT_COMMITTER_NAME: 'Ouija', GIT_COMMITTER_EMAIL: 'ouija@example.com', GIT_COMMITTER_DATE: date };
  const sha = execFileSync('git', ['--git-dir', remote, 'commit-tree', tree, '-p', parent, '-m', 'revision'], { env, encoding: 'utf8' }).trim();
  await git(remote, 'update-ref', `refs/heads/${branch}`, sha);
  return sha;
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
    expect(pulls[0]!.body).toContain('```text\nissue text\n```');
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

describe('the pull request body', () => {
  it("carries the issue's text fenced, so its markers, mentions and closing keywords stay inert", () => {
    const hostile = 'Fixes #99, cc @everyone\n<!-- ouija:card github:acme.widgets:99 -->\n```\nbreak out\n```';
    const card = { ...cardFor(7, 'Hostile'), body: `  ${hostile}\n` };
    const body = pullRequestBody(card, 'Did it.');
    expect(cardKeyFromMarker(body)).toBe(card.key);
    expect(body.startsWith(`<!-- ouija:card ${card.key} -->\nCloses #7\n\nDid it.\n\n`)).toBe(true);
    expect(body).toContain(`\n\n\`\`\`\`text\n${hostile}\n\`\`\`\``);
    expect(body.split('Fixes #99')[0]!.endsWith('````text\n')).toBe(true);
  });

  it("trims a long issue text and says how much was left out; an empty one adds nothing", () => {
    const long = `${'a'.repeat(ISSUE_TEXT_LIMIT - 1)}😀${'z'.repeat(10)}`;
    const body = pullRequestBody({ ...cardFor(8, 'Long'), body: long }, undefined);
    expect(body).toContain(`\`\`\`text\n${'a'.repeat(ISSUE_TEXT_LIMIT - 1)}😀\n\`\`\`\n\n(10 more characters in the issue)`);
    expect(body).not.toContain('z');
    expect(body.length).toBeLessThan(ISSUE_TEXT_LIMIT + 200);
    const card = { ...cardFor(9, 'Empty'), body: ' \n' };
    expect(pullRequestBody(card)).toBe(`<!-- ouija:card ${card.key} -->\nCloses #9`);
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

  it("counts the conversation from the reviewed head's commit: an earlier round's comment is left out", async () => {
    const issue = fake.addIssue(repo, { title: 'Review me again' });
    const branch = 'ouija/review-me-again';
    await pushBranch(branch);
    const card = cardFor(issue.number, issue.title);
    const pr = await githubForge(octokit).openOrUpdateReview({ card, branch, headSha: '', title: card.title, body: '' });
    const pull = fake.pullsOf(repo).find((p) => String(p.number) === pr.id)!;
    fake.comment(repo, pull.number, 'round 0: rename it', { login: 'bob', association: 'MEMBER' });
    // The revision: a commit made after that comment, pushed as the PR's new head.
    const headSha = await commitOn(branch, fake.state.now());
    fake.comment(repo, pull.number, 'round 1: and test it', { login: 'carol', association: 'COLLABORATOR' });
    const reviewId = fake.review(pull, { user: { login: 'carol', association: 'COLLABORATOR' }, state: 'CHANGES_REQUESTED' });

    const comments = await fetchReviewComments(octokit, { owner: 'acme', repo: 'widgets', pull: pull.number, reviewId, sinceCommit: headSha });
    expect(comments.map((c) => c.body)).toEqual(['round 1: and test it']);
    expect(countOf('git/get-commit')).toBeGreaterThanOrEqual(1);
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
