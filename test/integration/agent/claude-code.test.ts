/**
 * The REAL Claude Code CLI (the pinned devDependency) as Ouija's agent, end to end: a whole Ouija (harness),
 * the `claude-code` adapter, and a fake Anthropic API (test/support/fake-providers/anthropic.ts) that scripts
 * the model's side. Claude Code itself runs its tools: the file on the branch was written by its Write tool.
 */
import path from 'node:path';
import { listAgentRuns } from '../../../src/db';
import { commitsAhead, git } from '../../../src/cli/local-repo';
import type { CardState } from '../../../src/core/types';
import { startFakeAnthropic, userText, workingDirectory, type FakeAnthropic, type MessagesRequest } from '../../support/fake-providers/anthropic';
import { startHarness, type Harness } from '../../support/ouija-harness';

const CLAUDE = path.resolve(__dirname, '../../../node_modules/.bin/claude');

let fake: FakeAnthropic;
let h: Harness;
beforeAll(async () => {
  fake = await startFakeAnthropic();
  h = await startHarness({
    agent: {
      adapter: 'claude-code',
      command: CLAUDE,
      // The provider's URL and key reach the CLI only through its profile; one retry keeps the 500 test short.
      env: { ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_MAX_RETRIES: '1' },
      silenceTimeoutMs: 60_000,
      maxAttempts: 2,
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});
afterEach(() => {
  fake.mode = 'ok';
});

/** The Messages API calls Claude Code made while working in `worktree`. */
function callsFrom(worktree: string): MessagesRequest[] {
  return fake.messageRequests().filter((body) => workingDirectory(body) === worktree);
}

async function moveToWork(cardId: string, version: number): Promise<void> {
  const moved = await h.api('POST', `/api/cards/${cardId}/move`, { column: 'in-progress', expectedVersion: version });
  expect(moved.body.dispatch.status).toBe('accepted');
}

test('card → the real Claude Code writes a file with its Write tool → committed, pushed, Review; usage recorded; then a revision round', async () => {
  const c = await h.newCard('Add a greeting (canary-title-41c2)', 'Say hello to the team.');
  await moveToWork(c.cardId, c.version);
  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review');
  const { branch, path: worktree } = review.workspace!;

  // The file Claude Code was told to write, under its working directory, is on the remote branch.
  const [written] = fake.written.filter((file) => file.startsWith(`${worktree}/`));
  expect(written).toBeDefined();
  const relative = path.relative(worktree, written!);
  expect(await git(h.remote, 'show', `refs/heads/${branch}:${relative}`)).toMatch(/^Hello from Claude Code/);
  expect(await git(h.remote, 'rev-parse', `refs/heads/${branch}`)).toBe(review.review!.headSha);

  // The prompt carried the card; the CLI called the Messages API and nothing else of the fake's.
  const calls = callsFrom(worktree);
  expect(calls).toHaveLength(2); // the tool call, then the final text after the tool result
  // The exact title (the branch name, which Claude Code also sees in git status, carries only its slug).
  expect(userText(calls[0]!)).toContain('Add a greeting (canary-title-41c2)');
  expect(fake.requests.every((r) => r.method === 'POST' && r.url.startsWith('/v1/messages'))).toBe(true);
  expect(fake.requests.every((r) => r.headers['x-api-key'] === 'test')).toBe(true);

  const [run] = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(run).toMatchObject({ agent: 'claude-code', outcome: 'succeeded', exitCode: 0, summary: 'Done: I wrote the file.', tokensIn: 2400, tokensOut: 160 });
  expect(run!.costUsd).toBeGreaterThan(0);

  // Changes requested: the reviewer's words reach the CLI's prompt, and its new file lands on the same branch.
  const before = await commitsAhead(h.remote, branch);
  const asked = await h.api('POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'Please also mention the weather (canary-7f3a)' }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const second = await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');
  expect(second.workspace!.branch).toBe(branch);
  expect(await commitsAhead(h.remote, branch)).toBeGreaterThan(before);
  const revision = callsFrom(worktree).slice(2);
  expect(revision.length).toBeGreaterThanOrEqual(1);
  expect(userText(revision[0]!)).toContain('canary-7f3a');
  expect(userText(revision[0]!)).toContain('revision round 1');
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
});

test('the provider answers 500: Claude Code reports is_error, the step fails and is retried per policy, then the card fails', async () => {
  fake.mode = 'error500';
  const c = await h.newCard('Doomed by the provider (canary-500)', '');
  await moveToWork(c.cardId, c.version);
  const final: CardState = await h.ouija.temporal.workflow.getHandle(c.workflowId).result();
  expect(final.phase).toBe('failed');

  // maxAttempts 2: two attempts, each a real CLI run that got 500s (one call plus its one retry).
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => [r.attempt, r.outcome, r.exitCode])).toEqual([
    [1, 'failed', 1],
    [2, 'failed', 1],
  ]);
  const calls = fake.messageRequests().filter((body) => userText(body).includes('canary-500'));
  expect(calls).toHaveLength(4);
});
