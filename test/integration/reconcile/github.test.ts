/**
 * The reconciler on GitHub, against the fake GitHub: a card whose move never reached Ouija (the webhook was
 * lost) is started by the next pass and reaches review, and a later pass signals nothing new. Once with labels
 * as columns, once with a Projects v2 Status field. Every request the lister made must satisfy GitHub's
 * published contract (REST operations, GraphQL schema).
 */
import fs from 'node:fs';
import { createBareRemote } from '../../../src/cli/local-repo';
import type { DeepPartial, OuijaConfig } from '../../../src/config';
import { getDelivery } from '../../../src/db';
import type { PassSummary } from '../../../src/reconcile';
import { reconcileDeliveryId } from '../../../src/reconcile';
import { eventually } from '../../support/eventually';
import { FakeGitHub, GITHUB_TEST_SECRET, type FakeRepo } from '../../support/fake-github';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

const CARD_KEY = (n: number) => `github:acme.widgets:${n}`;
const PROJECT = { owner: 'acme', number: 1, statusField: 'Status', columns: { working: ['In Progress'], review: ['In Review'], done: ['Done'] } };

interface World {
  fake: FakeGitHub;
  harness: Harness;
  repo: FakeRepo;
  /** One pass of the GitHub reconciler Ouija started (its interval is long, so only the test runs passes). */
  pass(): Promise<PassSummary>;
}

/** A fake GitHub and an Ouija whose only reconciler is GitHub's (the built-in board's is off). */
async function startWorld(github: DeepPartial<NonNullable<OuijaConfig['github']>>): Promise<World> {
  const fake = await FakeGitHub.start();
  const remote = await createBareRemote(fs.mkdtempSync('/tmp/ouija-gh-reconcile-'));
  const harness = await startHarness({
    secrets: { builtinWebhook: WEBHOOK_SECRET, githubWebhook: GITHUB_TEST_SECRET, githubToken: fake.token },
    repos: { allow: [remote] },
    reconcileIntervalMs: 0,
    github: { apiUrl: fake.url, repos: ['acme/widgets'], repoUrls: { 'acme/widgets': remote }, reconcileIntervalMs: 3_600_000, ...github },
  });
  const repo = fake.addRepo('acme', 'widgets', { gitDir: remote });
  fake.deliverTo(harness.ouija.url);
  expect(harness.ouija.reconcilers).toHaveLength(1);
  return { fake, harness, repo, pass: () => harness.ouija.reconcilers[0]!.runNow() };
}

/** Plays a human's change on GitHub while its webhook is lost; deliveries resume for what follows. */
async function withoutWebhooks(world: World, change: () => void): Promise<void> {
  await world.fake.settled();
  world.fake.deliverTo(null);
  change();
  await world.fake.settled();
  world.fake.deliverTo(world.harness.ouija.url);
}

async function stopWorld(world: World | undefined): Promise<void> {
  await world?.fake.stop();
  await world?.harness.stop();
}

describe('labels as columns', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({});
  });
  afterAll(() => stopWorld(world));

  it('starts an issue labelled without its webhook, and signals nothing new on the next pass', async () => {
    const { fake, harness, repo } = world;
    const issue = fake.addIssue(repo, { title: 'Add a greeting', body: 'Say hello in GREETING.md' });
    fake.addIssue(repo, { title: 'Not for Ouija', labels: ['bug'] });
    const key = CARD_KEY(issue.number);
    await withoutWebhooks(world, () => fake.label(issue, 'ouija'));
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'issues', action: 'labeled', status: 0 });

    const first = await world.pass();
    expect(first).toEqual({ checked: 1, signalled: 1, unchanged: 0, errors: 0 });
    const deliveryId = reconcileDeliveryId(key, 'working', fake.state.issueJson(issue).updated_at);
    expect((await getDelivery(harness.database.db, { source: 'reconcile', deliveryId }))?.status).toBe('accepted');

    const review = await harness.waitFor(key, (s) => s.phase === 'review', 'the review', 120_000);
    expect(review.card.title).toBe('Add a greeting');
    expect(fake.pullsOf(repo)).toHaveLength(1);
    await eventually(async () => issue.labels, (labels) => labels.includes('ouija:review') && !labels.includes('ouija'));
    expect(issue.labels).toEqual(['ouija:review']);

    const second = await world.pass();
    expect(second).toMatchObject({ checked: 1, signalled: 0, errors: 0 });
    expect((await harness.state(key)).deliveries.filter((d) => d.startsWith('reconcile:'))).toEqual([deliveryId]);

    await fake.settled();
    expect(fake.violations).toEqual([]);
    expect(fake.requests.some((r) => r.operationId === 'issues/list-for-repo')).toBe(true);
  });
});

describe('a project Status field as columns', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ project: PROJECT });
  });
  afterAll(() => stopWorld(world));

  it('starts an issue moved to "In Progress" without its webhook, and signals nothing new on the next pass', async () => {
    const { fake, harness, repo } = world;
    const project = fake.addProject('acme', 1);
    const issue = fake.addIssue(repo, { title: 'Add a farewell', body: 'Say goodbye in FAREWELL.md' });
    const other = fake.addIssue(repo, { title: 'Still to do' });
    const item = fake.addToProject(project, issue, 'Todo');
    fake.addToProject(project, other, 'Todo');
    const key = CARD_KEY(issue.number);
    await withoutWebhooks(world, () => fake.moveItem(item, 'In Progress'));
    expect(fake.deliveries.at(-1)).toMatchObject({ event: 'projects_v2_item', action: 'edited', status: 0 });

    const first = await world.pass();
    expect(first).toEqual({ checked: 1, signalled: 1, unchanged: 0, errors: 0 });
    const deliveryId = reconcileDeliveryId(key, 'working', item.updatedAt);
    expect((await getDelivery(harness.database.db, { source: 'reconcile', deliveryId }))?.status).toBe('accepted');

    const review = await harness.waitFor(key, (s) => s.phase === 'review', 'the review', 120_000);
    expect(review.card.title).toBe('Add a farewell');
    await eventually(async () => fake.itemStatus(item), (s) => s === 'In Review');
    expect(fake.itemStatus(item)).toBe('In Review');

    const second = await world.pass();
    expect(second).toMatchObject({ checked: 1, signalled: 0, errors: 0 });
    expect((await harness.state(key)).deliveries.filter((d) => d.startsWith('reconcile:'))).toEqual([deliveryId]);

    await fake.settled();
    expect(fake.violations).toEqual([]);
    expect(fake.requests.some((r) => r.operationId === 'graphql')).toBe(true);
  });
});
