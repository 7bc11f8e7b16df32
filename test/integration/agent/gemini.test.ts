/**
 * The REAL Gemini CLI (the pinned devDependency) as Ouija's agent, end to end: a whole Ouija (harness), the
 * `gemini` adapter, and a fake Gemini API (test/support/fake-providers/gemini.ts) that scripts the model's
 * side. The CLI itself runs its tools: the file on the branch was written by its write_file tool.
 *
 * No provider-error case here: on HTTP 500 the CLI makes 10 attempts with backoff (about 3.5 minutes) before
 * it gives up; the recorded stream of such a run is covered by test/unit/agent/gemini.test.ts.
 */
import path from 'node:path';
import { listAgentRuns } from '../../../src/db';
import { commitsAhead, git } from '../../../src/cli/local-repo';
import { startFakeGemini, userText, workingDirectory, type FakeGemini, type GenerateRequest } from '../../support/fake-providers/gemini';
import { startHarness, type Harness } from '../../support/ouija-harness';

const GEMINI = path.resolve(__dirname, '../../../node_modules/.bin/gemini');

let fake: FakeGemini;
let h: Harness;
beforeAll(async () => {
  fake = await startFakeGemini();
  h = await startHarness({
    agent: {
      adapter: 'gemini',
      command: GEMINI,
      model: 'gemini-2.5-flash',
      // The provider's URL and key reach the CLI only through its profile.
      env: { GOOGLE_GEMINI_BASE_URL: fake.url, GEMINI_API_KEY: 'test' },
      silenceTimeoutMs: 60_000,
      maxAttempts: 2,
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});

/** The model calls the CLI made while working in `worktree`. */
function callsFrom(worktree: string): GenerateRequest[] {
  return fake.generateRequests().filter((body) => workingDirectory(body) === worktree);
}

test('card → the real Gemini CLI writes a file with write_file → committed, pushed, Review; usage and cost recorded; then a revision round', async () => {
  const c = await h.newCard('Add a greeting (canary-title-9b07)', 'Say hello to the team.');
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  expect(moved.body.dispatch.status).toBe('accepted');
  // Failed counts as settled too: a broken run fails at once instead of timing out.
  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'review');
  expect(review.phase).toBe('review');
  const { branch, path: worktree } = review.workspace!;

  // The file the CLI was told to write, under its working directory, is on the remote branch.
  const [written] = fake.written.filter((file) => file.startsWith(`${worktree}/`));
  expect(written).toBeDefined();
  expect(await git(h.remote, 'show', `refs/heads/${branch}:${path.relative(worktree, written!)}`)).toMatch(/^Hello from Gemini/);
  expect(await git(h.remote, 'rev-parse', `refs/heads/${branch}`)).toBe(review.review!.headSha);

  // The prompt carried the card; the CLI called the model endpoint, with the profile's key, and nothing else.
  const calls = callsFrom(worktree);
  expect(calls).toHaveLength(2); // the tool call, then the final text after the function response
  expect(userText(calls[0]!)).toContain('canary-title-9b07');
  expect(fake.requests.every((r) => r.method === 'POST' && r.url === '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse')).toBe(true);
  expect(fake.requests.every((r) => r.headers['x-goog-api-key'] === 'test')).toBe(true);

  // Two responses of 1000 in (200 cached) and 50 out: 1600 × $0.30/M + 400 × $0.03/M + 100 × $2.50/M.
  const [run] = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(run).toMatchObject({ agent: 'gemini', outcome: 'succeeded', exitCode: 0, summary: 'Done: I wrote the file.', tokensIn: 2000, tokensOut: 100 });
  expect(run!.costUsd).toBeCloseTo(0.000742, 6);

  // Changes requested: the reviewer's words reach the CLI's prompt, and its new file lands on the same branch.
  const before = await commitsAhead(h.remote, branch);
  const asked = await h.api('POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: 'Please also mention the weather (canary-7f3a)' }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const second = await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');
  expect(second.workspace!.branch).toBe(branch);
  expect(await commitsAhead(h.remote, branch)).toBeGreaterThan(before);
  const revision = callsFrom(worktree).slice(2);
  expect(revision).toHaveLength(2);
  expect(userText(revision[0]!)).toContain('canary-7f3a');
  expect(userText(revision[0]!)).toContain('revision round 1');
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
});
