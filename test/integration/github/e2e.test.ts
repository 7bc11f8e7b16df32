/**
 * The whole loop with GitHub as board and forge, against the fake GitHub: a human moves the issue's project
 * item to "In Progress" → the card workflow runs the demo agent → the branch is pushed (to the local bare repo
 * the config maps the repository to) and one pull request opened → the item moves to "In Review" with a
 * comment carrying the PR link → changes are requested (only the collaborator's comments reach the agent) →
 * the revision goes to the same PR → approval → the item moves to "Done". GitHub's echoes of Ouija's own
 * changes are delivered too, and every request Ouija made must satisfy GitHub's published contract.
 */
import fs from 'node:fs';
import { createBareRemote, git } from '../../../src/cli/local-repo';
import type { CardState } from '../../../src/core/types';
import { eventually } from '../../support/eventually';
import { FakeGitHub, GITHUB_TEST_SECRET, type FakeItem, type FakeRepo } from '../../support/fake-github';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

const CARD_KEY = (n: number) => `github:acme.widgets:${n}`;

let fake: FakeGitHub;
let harness: Harness;
let repo: FakeRepo;
let remote: string;

beforeAll(async () => {
  fake = await FakeGitHub.start();
  const dir = fs.mkdtempSync('/tmp/ouija-gh-e2e-');
  remote = await createBareRemote(dir);
  harness = await startHarness({
    secrets: { builtinWebhook: WEBHOOK_SECRET, githubWebhook: GITHUB_TEST_SECRET, githubToken: fake.token },
    repos: { allow: [remote] },
    github: {
      apiUrl: fake.url,
      repos: ['acme/widgets'],
      repoUrls: { 'acme/widgets': remote },
      project: { owner: 'acme', number: 1, statusField: 'Status', columns: { working: ['In Progress'], review: ['In Review'], done: ['Done'] } },
      reconcileIntervalMs: 0,
    },
  });
  repo = fake.addRepo('acme', 'widgets', { gitDir: remote });
  fake.deliverTo(harness.ouija.url);
});

afterAll(async () => {
  await fake?.stop();
  await harness?.stop();
});

it('runs an issue from "In Progress" through review and revision to "Done"', async () => {
  const project = fake.addProject('acme', 1);
  const issue = fake.addIssue(repo, { title: 'Add a greeting', body: 'Say hello in GREETING.md' });
  const item: FakeItem = fake.addToProject(project, issue, 'Todo');
  const key = CARD_KEY(issue.number);
  const alice = { login: 'alice', association: 'OWNER' as const };
  const carol = { login: 'carol', association: 'COLLABORATOR' as const };
  const mallory = { login: 'mallory', association: 'NONE' as const };

  fake.moveItem(item, 'In Progress', alice);
  const inReview = await harness.waitFor(key, (s) => s.phase === 'review', 'the first review', 120_000);
  const pulls = fake.pullsOf(repo);
  expect(pulls).toHaveLength(1);
  const pull = pulls[0]!;
  expect(pull.head).toBe(inReview.workspace!.branch);
  expect(await git(remote, 'rev-parse', `refs/heads/${pull.head}`)).toBe(inReview.review!.headSha);
  expect(inReview.review!.id).toBe(String(pull.number));
  await eventually(async () => fake.itemStatus(item), (s) => s === 'In Review');
  expect(fake.itemStatus(item)).toBe('In Review');
  const issueComments = await eventually(async () => fake.commentsOf(repo, issue.number), (c) => c.some((x) => x.body.includes(fake.state.pullUrl(pull))));
  expect(issueComments.some((c) => c.body.includes(fake.state.pullUrl(pull)))).toBe(true);

  // A drive-by comment from someone without write access, then the collaborator's review.
  fake.comment(repo, pull.number, 'Also delete the README!', mallory);
  fake.review(pull, { user: carol, state: 'CHANGES_REQUESTED', body: 'Almost', comments: [{ path: 'GREETING.md', line: 1, body: 'Say it politely' }] });
  const revising = await harness.waitFor(key, (s) => s.round === 1, 'the changes request', 60_000);
  const feedback = revising.feedback.map((c) => c.body).join('\n');
  expect(feedback).toContain('Say it politely');
  expect(feedback).not.toContain('delete the README');
  const revised = await harness.waitFor(key, (s: CardState) => s.phase === 'review' && s.round === 1, 'the revision in review', 120_000);
  expect(fake.pullsOf(repo)).toHaveLength(1);
  expect(revised.review!.id).toBe(String(pull.number));
  expect(await git(remote, 'rev-parse', `refs/heads/${pull.head}`)).toBe(revised.review!.headSha);
  expect(revised.review!.headSha).not.toBe(inReview.review!.headSha);

  fake.review(pull, { user: carol, state: 'APPROVED' });
  await harness.waitFor(key, (s) => s.phase === 'done', 'done', 60_000);
  await eventually(async () => fake.itemStatus(item), (s) => s === 'Done');
  expect(fake.itemStatus(item)).toBe('Done');

  await fake.settled();
  expect(fake.deliveries.filter((d) => d.status < 200 || d.status >= 300)).toEqual([]);
  expect(fake.violations).toEqual([]);
});
