/**
 * The REAL Claude Code in a warm session (`session: { warm: true, maxTasks: 2 }`): a card's revision round
 * continues the session of its first pass (`--resume <id>`: the model sees the earlier conversation), the third
 * task starts a fresh session (rotation), and a second card working at the same time never shares either.
 * The session id is derived from the card key (src/plugins/agent/session.ts); Claude Code sends it as
 * `x-claude-code-session-id` on every Messages API call, which the fake provider records.
 */
import { warmSessionForEffect } from '../../../src/plugins/agent/session';
import { cliBinary, REVISION_CANARY, reviseOnce, startCliHarness, stopCliHarness, workToReview } from '../../support/agent-cli';
import { startFakeAnthropic, userText, workingDirectory, type FakeAnthropic, type MessagesRequest } from '../../support/fake-providers/anthropic';
import type { Harness } from '../../support/ouija-harness';

const MAX_TASKS = 2;
let fake: FakeAnthropic;
let h: Harness;
beforeAll(async () => {
  ({ fake, h } = await startCliHarness(startFakeAnthropic, ({ url }) => ({
    adapter: 'claude-code',
    command: cliBinary('claude'),
    env: { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_MAX_RETRIES: '1' },
    session: { warm: true, maxTasks: MAX_TASKS },
  })));
});
afterAll(() => stopCliHarness({ fake, h }));

/** The Messages API calls made in `worktree`, with the session id Claude Code sent. */
function callsFrom(worktree: string): Array<{ session: unknown; body: MessagesRequest }> {
  return fake.requests
    .filter((r) => r.method === 'POST' && r.url.split('?')[0] === '/v1/messages')
    .map((r) => ({ session: r.headers['x-claude-code-session-id'], body: r.body as MessagesRequest }))
    .filter((call) => workingDirectory(call.body) === worktree);
}

const sessionOf = (cardKey: string, round: number) => warmSessionForEffect(cardKey, `r1/agent/implement/${round}`, { maxTasks: MAX_TASKS }).id;

test('revision round resumes the card session, the third task rotates, another card never shares it', async () => {
  const a = await h.newCard('Warm card A (canary-warm-a-3b9d)', 'Body of A: canary-body-a-61f0');
  const b = await h.newCard('Warm card B (canary-warm-b-d27c)', 'Body of B: canary-body-b-09e4');
  const [reviewA, reviewB] = await Promise.all([workToReview(h, a), workToReview(h, b)]);
  const worktreeA = reviewA.workspace!.path;
  const worktreeB = reviewB.workspace!.path;

  // First pass: each card's calls carry its own derived session id; B's conversation has nothing of A's.
  const firstA = callsFrom(worktreeA);
  const callsB = callsFrom(worktreeB);
  expect(firstA).toHaveLength(2);
  expect(firstA.map((c) => c.session)).toEqual([sessionOf(a.cardKey, 0), sessionOf(a.cardKey, 0)]);
  expect(callsB.map((c) => c.session)).toEqual([sessionOf(b.cardKey, 0), sessionOf(b.cardKey, 0)]);
  expect(sessionOf(a.cardKey, 0)).not.toBe(sessionOf(b.cardKey, 0));
  for (const call of callsB) expect(userText(call.body)).not.toMatch(/canary-(warm|body)-a-/);

  // Round 1 (task 2 of the session): same session id, and the model sees round 0's prompt and tool call.
  await reviseOnce(h, a, reviewA);
  const round1 = callsFrom(worktreeA).slice(2);
  expect(round1.length).toBeGreaterThanOrEqual(1);
  expect(round1.every((c) => c.session === sessionOf(a.cardKey, 0))).toBe(true);
  const seen1 = userText(round1[0]!.body);
  expect(seen1).toContain('This is the first pass.');
  expect(seen1).toContain(REVISION_CANARY);
  expect(seen1).toContain('This continues your earlier session on the same card');
  expect(round1[0]!.body.messages.some((m) => m.role === 'assistant')).toBe(true);

  // Round 2 (task 3, maxTasks 2): a fresh session with a new id that has seen neither earlier round.
  const before = callsFrom(worktreeA).length;
  const asked = await h.api('POST', `/api/cards/${a.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'One more thing (canary-round2-4c1e)' }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const third = await h.waitFor(a.cardKey, (s) => (s.phase === 'review' && s.round === 2) || s.phase === 'failed', 'third review');
  expect(third.phase).toBe('review');
  const round2 = callsFrom(worktreeA).slice(before);
  expect(round2.length).toBeGreaterThanOrEqual(1);
  expect(sessionOf(a.cardKey, 2)).not.toBe(sessionOf(a.cardKey, 0));
  expect(round2.every((c) => c.session === sessionOf(a.cardKey, 2))).toBe(true);
  const seen2 = userText(round2[0]!.body);
  expect(seen2).toContain('canary-round2-4c1e');
  expect(seen2).not.toContain(REVISION_CANARY);
  expect(seen2).not.toContain('This is the first pass.');
  expect(round2[0]!.body.messages.some((m) => m.role === 'assistant')).toBe(false);

  // B was never touched again, and nothing of A ever reached it.
  expect(callsFrom(worktreeB)).toHaveLength(2);
});
