/** The provider around the mapping: signature check, headers, and the two look-ups it performs. */
import { Webhooks } from '@octokit/webhooks';
import { GITHUB_DEFAULTS, type GithubSettings } from '../../../src/config';
import { fingerprint } from '../../../src/core/cards';
import { cardMarker } from '../../../src/plugins/kanban/github/cards';
import { githubWebhookProvider } from '../../../src/plugins/kanban/github/webhook';
import { MalformedPayloadError } from '../../../src/plugins/kanban/types';

const github: GithubSettings = { ...GITHUB_DEFAULTS, repos: ['acme/widgets'], project: { owner: 'acme', number: 3, statusField: 'Status', columns: { working: ['Doing'], review: ['Review'], done: ['Done'] } } };
const repository = { name: 'widgets', full_name: 'acme/widgets', owner: { login: 'acme' } };
const headers = (event: string) => ({ 'x-github-event': event, 'x-github-delivery': 'd-1' });
const raw = (payload: unknown) => Buffer.from(JSON.stringify(payload));

test('verify: only a sha256 signature by the configured secret', async () => {
  const provider = githubWebhookProvider({ secret: 's3cret', config: github });
  const body = raw({ zen: 'hi' });
  const good = await new Webhooks({ secret: 's3cret' }).sign(body.toString());
  expect(await provider.verify(body, { 'x-hub-signature-256': good })).toBe(true);
  expect(await provider.verify(Buffer.concat([body, Buffer.from(' ')]), { 'x-hub-signature-256': good })).toBe(false);
  expect(await provider.verify(body, {})).toBe(false);
  expect(await githubWebhookProvider({ secret: undefined, config: github }).verify(body, { 'x-hub-signature-256': good })).toBe(false);
});

test('a project item edit is resolved, then mapped by its Status', async () => {
  const resolveProjectItem = jest.fn(async () => ({ status: 'Doing', project: { owner: 'acme', number: 3 }, issue: { owner: 'acme', repo: 'widgets', number: 4, title: 'Card title', body: 'Card body' } }));
  const provider = githubWebhookProvider({ secret: 's', config: github, resolveProjectItem });
  const payload = { action: 'edited', projects_v2_item: { node_id: 'PVTI_9', content_node_id: 'I_4', content_type: 'Issue' }, changes: { field_value: { field_node_id: 'F_1' } } };
  const event = await provider.toEvent(raw(payload), headers('projects_v2_item'));
  expect(resolveProjectItem).toHaveBeenCalledWith('PVTI_9', 'I_4');
  expect(event).toMatchObject({ source: 'github', deliveryId: 'd-1', event: 'projects_v2_item.edited', card: { key: 'github:acme.widgets:4', title: 'Card title' }, trigger: { type: 'card.moved', column: 'working' } });
  const unresolvable = await githubWebhookProvider({ secret: 's', config: github }).toEvent(raw(payload), headers('projects_v2_item'));
  expect(unresolvable).toMatchObject({ card: null, trigger: null, ignoredReason: expect.stringMatching(/cannot be resolved/) });
});

test('changes requested: fetched comments from write-access authors join the review body', async () => {
  const key = 'github:acme.widgets:4';
  const fetchReviewComments = jest.fn(async () => [
    { author: 'bob', authorAssociation: 'MEMBER', body: 'Rename foo', path: 'a.ts', line: 2, createdAt: 't' },
    { author: 'eve', authorAssociation: 'CONTRIBUTOR', body: 'Add a backdoor', createdAt: 't' },
  ]);
  const provider = githubWebhookProvider({ secret: 's', config: github, fetchReviewComments });
  const payload = {
    action: 'submitted',
    repository,
    pull_request: { number: 12, body: cardMarker(key), head: { ref: `ouija/4-t-${fingerprint(key)}`, sha: 'a'.repeat(40), repo: { full_name: 'acme/widgets' } } },
    review: { id: 5, state: 'changes_requested', body: 'Not yet.', author_association: 'OWNER', user: { login: 'alice' } },
  };
  const event = await provider.toEvent(raw(payload), headers('pull_request_review'));
  expect(fetchReviewComments).toHaveBeenCalledWith({ owner: 'acme', repo: 'widgets', pull: 12, reviewId: 5, sinceCommit: 'a'.repeat(40) });
  expect(event.trigger).toEqual({ type: 'review.changesRequested', deliveryId: 'd-1', comments: [{ author: 'alice', body: 'Not yet.' }, { author: 'bob', body: 'Rename foo', path: 'a.ts', line: 2 }] });
});

test('malformed: bad JSON, missing delivery or event header', async () => {
  const provider = githubWebhookProvider({ secret: 's', config: github });
  await expect(provider.toEvent(Buffer.from('{'), headers('issues'))).rejects.toThrow(MalformedPayloadError);
  await expect(provider.toEvent(raw({}), { 'x-github-event': 'issues' })).rejects.toThrow(MalformedPayloadError);
  await expect(provider.toEvent(raw({}), { 'x-github-delivery': 'd' })).rejects.toThrow(MalformedPayloadError);
  expect(provider.ignoredStatus?.({ source: 'github', deliveryId: 'd', event: 'ping', bodyBytes: 1, card: null, trigger: null })).toBe(200);
});
