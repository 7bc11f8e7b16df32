/**
 * The REAL Gemini CLI (the pinned devDependency) as Ouija's agent, end to end: a whole Ouija (harness), the
 * `gemini` adapter, and a fake Gemini API (test/support/fake-providers/gemini.ts) that scripts the model's
 * side. The CLI itself runs its tools: the file on the branch was written by its write_file tool.
 *
 * No provider-error case here: on HTTP 500 the CLI makes 10 attempts with backoff (about 3.5 minutes) before
 * it gives up; the recorded stream of such a run is covered by test/unit/agent/gemini.test.ts.
 */
import { listAgentRuns } from '../../../src/db';
import { cliBinary, expectRevisionPrompt, pushedFile, reviseOnce, startCliHarness, stopCliHarness, workToReview } from '../../support/agent-cli';
import { startFakeGemini, userText, workingDirectory, type FakeGemini, type GenerateRequest } from '../../support/fake-providers/gemini';
import type { Harness } from '../../support/ouija-harness';

let fake: FakeGemini;
let h: Harness;
beforeAll(async () => {
  ({ fake, h } = await startCliHarness(startFakeGemini, ({ url }) => ({
    adapter: 'gemini',
    command: cliBinary('gemini'),
    model: 'gemini-2.5-flash',
    // The provider's URL and key reach the CLI only through its profile.
    env: { GOOGLE_GEMINI_BASE_URL: url, GEMINI_API_KEY: 'test' },
  })));
});
afterAll(() => stopCliHarness({ fake, h }));

/** The model calls the CLI made while working in `worktree`. */
function callsFrom(worktree: string): GenerateRequest[] {
  return fake.generateRequests().filter((body) => workingDirectory(body) === worktree);
}

test('card → the real Gemini CLI writes a file with write_file → committed, pushed, Review; usage and cost recorded; then a revision round', async () => {
  const c = await h.newCard('Add a greeting (canary-title-9b07)', 'Say hello to the team.');
  const review = await workToReview(h, c);
  const worktree = review.workspace!.path;

  // The file the CLI was told to write, under its working directory, is on the remote branch.
  const [written] = fake.written.filter((file) => file.startsWith(`${worktree}/`));
  expect(written).toBeDefined();
  expect(await pushedFile(h, review, written!)).toMatch(/^Hello from Gemini/);

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
  await reviseOnce(h, c, review);
  const revision = callsFrom(worktree).slice(2);
  expect(revision).toHaveLength(2);
  expectRevisionPrompt(userText(revision[0]!));
});
