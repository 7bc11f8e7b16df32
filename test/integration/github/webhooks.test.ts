/**
 * GitHub webhooks over HTTP into a running Ouija: every documented example of the events Ouija subscribes to,
 * signed with the test secret, gets the status its mapping says; an issue labelled `ouija` starts its card's
 * workflow, a review and a close reach it, a repeat changes nothing; bad input is rejected.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import { GITHUB_DEFAULTS } from '../../../src/config';
import { fingerprint } from '../../../src/core/cards';
import { getDelivery, listRejections } from '../../../src/db';
import { createBareRemote } from '../../../src/cli/local-repo';
import { githubTrigger } from '../../../src/plugins/kanban/github/events';
import { EXPECTED_TRIGGER, exampleCases, withPrMarker } from '../../support/github-examples';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

const GITHUB_SECRET = 'test-github-secret';
const REPOS = ['Codertocat/Hello-World', 'octo-org/octo-repo'];
const signer = new Webhooks({ secret: GITHUB_SECRET });

let h: Harness;
let remoteDir: string;
beforeAll(async () => {
  remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-gh-remote-'));
  const remote = await createBareRemote(remoteDir);
  h = await startHarness({
    secrets: { builtinWebhook: WEBHOOK_SECRET, githubWebhook: GITHUB_SECRET },
    repos: { allow: [remote] },
    // Nothing listens on port 9: whatever Ouija sends to GitHub fails locally instead of leaving the machine.
    github: { apiUrl: 'http://127.0.0.1:9', repos: REPOS, repoUrls: { 'Codertocat/Hello-World': remote }, reconcileIntervalMs: 0 },
  });
});
afterAll(async () => {
  await h?.stop();
  fs.rmSync(remoteDir, { recursive: true, force: true });
});

async function post(event: string, body: string, deliveryId: string, signature?: string) {
  return h.api('POST', '/webhooks/github', body, {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': deliveryId,
    'x-hub-signature-256': signature ?? (await signer.sign(body)),
  });
}

test('every documented example: ping 200, the rest 202 and logged as ignored (no card of theirs is running)', async () => {
  const github = { ...GITHUB_DEFAULTS, repos: REPOS };
  let n = 0;
  for (const [label, event, payload] of exampleCases()) {
    const deliveryId = `example-${++n}`;
    const mapping = githubTrigger(event, payload, github, deliveryId);
    const expected = EXPECTED_TRIGGER[`${event}.${(payload as { action?: string }).action ?? ''}`] ?? 'ignored';
    expect([label, 'ignored' in mapping ? 'ignored' : 'trigger' in mapping ? mapping.trigger.type : 'lookup']).toEqual([label, expected]);

    const res = await post(event, JSON.stringify(payload), deliveryId);
    expect([label, res.status, res.body.status]).toEqual([label, event === 'ping' ? 200 : 202, 'ignored']);
    const logged = await getDelivery(h.database.db, { source: 'github', deliveryId });
    expect([label, logged?.status]).toEqual([label, 'ignored']);
    // Ignored by the mapping: the log says why. Mapped (edited/deleted): there is no workflow to tell.
    expect(logged?.note).toBe('ignored' in mapping ? mapping.ignored : 'no workflow for this card (nothing to act on)');
  }
  expect(n).toBeGreaterThan(80);
});

test('labelled ouija starts the card; a repeat changes nothing; a review and a close reach the workflow', async () => {
  const [, , labeled] = exampleCases().find(([, e, p]) => e === 'issues' && (p as { action: string }).action === 'labeled')!;
  const payload = structuredClone(labeled) as { label: { name: string }; issue: { number: number; title: string; labels: Array<{ name: string }> } };
  payload.label = { ...payload.label, name: 'ouija' };
  payload.issue.labels = [...payload.issue.labels, { ...payload.issue.labels[0]!, name: 'ouija' }];
  const key = `github:Codertocat.Hello-World:${payload.issue.number}`;

  const started = await post('issues', JSON.stringify(payload), 'gh-label-1');
  expect(started.status).toBe(200);
  expect(started.body).toMatchObject({ status: 'accepted', workflowId: `card:${key}` });
  const first = await h.waitFor(key, (s) => s.deliveries.includes('gh-label-1') && s.run === 1, 'the labelled issue to start run 1');
  expect(first.card).toMatchObject({ key, title: payload.issue.title, repo: h.config.repos.allow[0] });

  const repeat = await post('issues', JSON.stringify(payload), 'gh-label-1');
  expect(repeat.status).toBe(202);
  expect(repeat.body.status).toBe('duplicate');
  const after = await h.state(key);
  expect(after.run).toBe(1);
  expect(after.deliveries.filter((d) => d === 'gh-label-1')).toHaveLength(1);

  // An approval on the card's PR (marker + branch) is signalled to it (the card ignores it unless in review).
  const [, , reviewExample] = exampleCases().find(([, e]) => e === 'pull_request_review')!;
  const review = withPrMarker(reviewExample, key, `ouija/${payload.issue.number}-x-${fingerprint(key)}`) as { review: { state: string } };
  review.review.state = 'approved';
  const approved = await post('pull_request_review', JSON.stringify(review), 'gh-review-1');
  expect(approved.status).toBe(200);
  await h.waitFor(key, (s) => s.deliveries.includes('gh-review-1'), 'the approval to reach the workflow');
  expect((await getDelivery(h.database.db, { source: 'github', deliveryId: 'gh-review-1' }))?.status).toBe('accepted');

  const closed = await post('issues', JSON.stringify({ ...payload, action: 'closed' }), 'gh-close-1');
  expect(closed.status).toBe(200);
  const cancelled = await h.waitFor(key, (s) => s.phase === 'cancelled' && s.deliveries.includes('gh-close-1'), 'closing the issue to cancel the card');
  expect(cancelled.run).toBe(1);
});

test('bad input: bad or missing signature 401, malformed 400, over 25 MiB 413 — logged with the delivery ID', async () => {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const sha1 = `sha1=${'0'.repeat(40)}`;
  expect((await post('ping', body, 'gh-forged-1', `sha256=${'0'.repeat(64)}`)).status).toBe(401);
  expect((await post('ping', body, 'gh-forged-2', '')).status).toBe(401);
  expect((await post('ping', body, 'gh-forged-3', sha1)).status).toBe(401);
  expect((await post('ping', body, 'gh-forged-4', await new Webhooks({ secret: 'wrong' }).sign(body))).status).toBe(401);
  expect((await post('ping', '{not json', 'gh-malformed-1')).status).toBe(400);
  expect((await post('issues', JSON.stringify({ action: 'labeled' }), 'gh-malformed-2')).status).toBe(400);
  expect((await post('../etc', body, 'gh-malformed-3')).status).toBe(400);
  const huge = JSON.stringify({ zen: 'x'.repeat(25 * 1024 * 1024) });
  expect((await post('ping', huge, 'gh-huge-1', 'sha256=unchecked')).status).toBe(413);

  const byDelivery = Object.fromEntries((await listRejections(h.database.db, { source: 'github' })).map((r) => [r.deliveryId, r.httpStatus]));
  expect(byDelivery).toMatchObject({ 'gh-forged-1': 401, 'gh-forged-2': 401, 'gh-forged-3': 401, 'gh-forged-4': 401, 'gh-malformed-1': 400, 'gh-malformed-2': 400, 'gh-malformed-3': 400, 'gh-huge-1': 413 });
});
