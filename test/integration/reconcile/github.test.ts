/**
 * The reconciler on GitHub, against the fake GitHub: a card whose move never reached Ouija (the webhook was
 * lost) is started by the next pass and reaches review, and a later pass signals nothing new. Once with labels
 * as columns, once with a Projects v2 Status field. With labels, a failed card still labelled is left alone
 * however often humans comment (updated_at moves, the label does not), and restarted once it is labelled
 * again. Every request the lister made must satisfy GitHub's published contract (REST operations, GraphQL schema).
 */
import fs from 'node:fs';
import { createBareRemote } from '../../../src/cli/local-repo';
import type { DeepPartial, OuijaConfig } from '../../../src/config';
import { workflowIdForCard } from '../../../src/core/cards';
import type { CardState } from '../../../src/core/types';
import { getDelivery, listDeliveries } from '../../../src/db';
import type { PassSummary } from '../../../src/reconcile';
import { reconcileDeliveryId } from '../../../src/reconcile';
import { eventually } from '../../support/eventually';
import { FakeGitHub, GITHUB_TEST_SECRET, type FakeIssue, type FakeRepo } from '../../support/fake-github';
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

/** The time the issue last got `label`, as the fake's events API records it. */
function labelledAt(fake: FakeGitHub, issue: FakeIssue, label: string): string {
  const event = fake.state.issueEvents.filter((e) => e.issue === issue && e.event === 'labeled' && e.label === label).at(-1);
  if (!event) throw new Error(`issue #${issue.number} was never labelled ${label}`);
  return event.createdAt;
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
    // Issue events are looked up only for cards whose workflow closed.
    expect(fake.requests.some((r) => r.operationId === 'issues/list-events')).toBe(false);
  });

  it('leaves a failed card labelled `ouija` alone after a human comment, and restarts it once it is labelled again', async () => {
    const { fake, harness, repo } = world;
    const human = { login: 'alice', association: 'OWNER' } as const;
    const issue = fake.addIssue(repo, { title: 'Doomed', body: 'ouija-demo: exit=3' });
    const key = CARD_KEY(issue.number);
    const reconcileDeliveries = async () => (await listDeliveries(harness.database.db, { source: 'reconcile', limit: 1000 })).filter((d) => d.cardKey === key);
    fake.label(issue, 'ouija');
    await fake.settled();
    const handle = harness.ouija.temporal.workflow.getHandle(workflowIdForCard(key));
    const failed: CardState = await handle.result();
    expect(failed.phase).toBe('failed');
    const first = await handle.describe();
    const closedAt = first.closeTime!.getTime();
    expect(issue.labels).toEqual(['ouija']);
    expect(Date.parse(labelledAt(fake, issue, 'ouija'))).toBeLessThanOrEqual(closedAt);

    // GitHub's timestamps have whole seconds: comment in a later second than the close.
    while (Date.now() < closedAt + 1000) await new Promise((r) => setTimeout(r, 100));
    fake.comment(repo, issue.number, 'Any idea why this failed?', human);
    await fake.settled();
    expect(Date.parse(fake.state.issueJson(issue).updated_at)).toBeGreaterThan(closedAt);
    expect(await world.pass()).toMatchObject({ signalled: 0, errors: 0 });
    expect(await reconcileDeliveries()).toEqual([]);
    expect((await handle.describe()).runId).toBe(first.runId);

    await withoutWebhooks(world, () => {
      fake.unlabel(issue, 'ouija', human);
      fake.label(issue, 'ouija', human);
    });
    expect(await world.pass()).toMatchObject({ signalled: 1, errors: 0 });
    const deliveryId = reconcileDeliveryId(key, 'working', labelledAt(fake, issue, 'ouija'));
    expect((await getDelivery(harness.database.db, { source: 'reconcile', deliveryId }))?.status).toBe('accepted');
    const again: CardState = await handle.result();
    expect(again.phase).toBe('failed');
    expect((await handle.describe()).runId).not.toBe(first.runId);

    // The second run closed after the label was added: comments since change nothing, and the version is
    // still the label's, so nothing new is delivered.
    fake.comment(repo, issue.number, 'Still failing.', human);
    await fake.settled();
    expect(await world.pass()).toMatchObject({ signalled: 0, errors: 0 });
    expect((await reconcileDeliveries()).map((d) => d.deliveryId)).toEqual([deliveryId]);

    await fake.settled();
    expect(fake.violations).toEqual([]);
    expect(fake.requests.some((r) => r.operationId === 'issues/list-events')).toBe(true);
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
