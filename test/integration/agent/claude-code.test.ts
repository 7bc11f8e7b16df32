/**
 * The REAL Claude Code CLI (the pinned devDependency) as Ouija's agent, end to end: a whole Ouija (harness),
 * the `claude-code` adapter, and a fake Anthropic API (test/support/fake-providers/anthropic.ts) that scripts
 * the model's side. Claude Code itself runs its tools: the file on the branch was written by its Write tool.
 */
import { listAgentRuns } from '../../../src/db';
import { cliBinary, DOOMED_CANARY, expectRevisionPrompt, failOnProvider, pushedFile, reviseOnce, startCliHarness, stopCliHarness, workToReview } from '../../support/agent-cli';
import { startFakeAnthropic, userText, workingDirectory, type FakeAnthropic, type MessagesRequest } from '../../support/fake-providers/anthropic';
import type { Harness } from '../../support/ouija-harness';

let fake: FakeAnthropic;
let h: Harness;
beforeAll(async () => {
  ({ fake, h } = await startCliHarness(startFakeAnthropic, ({ url }) => ({
    adapter: 'claude-code',
    command: cliBinary('claude'),
    // The provider's URL and key reach the CLI only through its profile; one retry keeps the 500 test short.
    env: { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_MAX_RETRIES: '1' },
  })));
});
afterAll(() => stopCliHarness({ fake, h }));
afterEach(() => {
  fake.mode = 'ok';
});

/** The Messages API calls Claude Code made while working in `worktree`. */
function callsFrom(worktree: string): MessagesRequest[] {
  return fake.messageRequests().filter((body) => workingDirectory(body) === worktree);
}

test('card → the real Claude Code writes a file with its Write tool → committed, pushed, Review; usage recorded; then a revision round', async () => {
  const c = await h.newCard('Add a greeting (canary-title-41c2)', 'Say hello to the team.');
  const review = await workToReview(h, c);
  const worktree = review.workspace!.path;

  // The file Claude Code was told to write, under its working directory, is on the remote branch.
  const [written] = fake.written.filter((file) => file.startsWith(`${worktree}/`));
  expect(written).toBeDefined();
  expect(await pushedFile(h, review, written!)).toMatch(/^Hello from Claude Code/);

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
  await reviseOnce(h, c, review);
  const revision = callsFrom(worktree).slice(2);
  expect(revision.length).toBeGreaterThanOrEqual(1);
  expectRevisionPrompt(userText(revision[0]!));
});

test('the provider answers 500: Claude Code reports is_error, the step fails and is retried per policy, then the card fails', async () => {
  fake.mode = 'error500';
  // maxAttempts 2: two attempts, each a real CLI run that got 500s (one call plus its one retry).
  await failOnProvider(h);
  const calls = fake.messageRequests().filter((body) => userText(body).includes(DOOMED_CANARY));
  expect(calls).toHaveLength(4);
});
