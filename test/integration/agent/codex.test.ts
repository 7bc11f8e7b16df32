/**
 * The REAL Codex CLI (the pinned devDependency) as Ouija's agent, end to end: a whole Ouija (harness), the
 * `codex` adapter, and a fake Responses API (test/support/fake-providers/openai-responses.ts) that scripts the
 * model's side. Codex itself runs its tools: the file on the branch was written by its apply_patch tool.
 */
import { listAgentRuns } from '../../../src/db';
import { cliBinary, DOOMED_CANARY, expectRevisionPrompt, failOnProvider, pushedFile, reviseOnce, startCliHarness, stopCliHarness, workToReview } from '../../support/agent-cli';
import { startFakeResponses, userText, workingDirectory, type FakeResponses, type ResponsesRequest } from '../../support/fake-providers/openai-responses';
import type { Harness } from '../../support/ouija-harness';

let fake: FakeResponses;
let h: Harness;
beforeAll(async () => {
  ({ fake, h } = await startCliHarness(startFakeResponses, ({ url }) => ({
    adapter: 'codex',
    command: cliBinary('codex'),
    // Codex makes its own bubblewrap sandbox (-s workspace-write), which cannot be made inside Ouija's here.
    sandbox: 'none',
    // gpt-5.5: a slug Codex knows, so it offers apply_patch (and the adapter has its price).
    model: 'gpt-5.5',
    // The provider's URL and key reach the CLI only through its profile.
    env: { CODEX_BASE_URL: url, OPENAI_API_KEY: 'test' },
    // No retries of a failing provider inside the CLI: the 500 test stays short.
    args: ['-c', 'model_providers.ouija.request_max_retries=0', '-c', 'model_providers.ouija.stream_max_retries=0'],
  })));
});
afterAll(() => stopCliHarness({ fake, h }));
afterEach(() => {
  fake.mode = 'ok';
});

/** The Responses API calls Codex made while working in `worktree`. */
function callsFrom(worktree: string): ResponsesRequest[] {
  return fake.responseRequests().filter((body) => workingDirectory(body) === worktree);
}

test('card → the real Codex writes a file with apply_patch → committed, pushed, Review; usage and cost recorded; then a revision round', async () => {
  const c = await h.newCard('Add a greeting (canary-title-5d1e)', 'Say hello to the team.');
  const review = await workToReview(h, c);
  const worktree = review.workspace!.path;

  // The file Codex was told to create, in its working directory, is on the remote branch.
  const [written] = fake.written.filter((file) => file.path.startsWith(`${worktree}/`));
  expect(written).toMatchObject({ tool: 'apply_patch' });
  expect(await pushedFile(h, review, written!.path)).toMatch(/^Hello from Codex/);

  // The prompt carried the card; the CLI called the Responses API, with the profile's key, and nothing else.
  const calls = callsFrom(worktree);
  expect(calls).toHaveLength(2); // the tool call, then the final message after the tool's output
  expect(calls[0]!.model).toBe('gpt-5.5');
  expect(userText(calls[0]!)).toContain('canary-title-5d1e');
  expect(fake.requests.every((r) => r.method === 'POST' && r.url === '/v1/responses')).toBe(true);
  expect(fake.requests.every((r) => r.headers.authorization === 'Bearer test')).toBe(true);

  // Two responses of 1000 in (200 cached) and 50 out: 1600 × $5/M + 400 × $0.50/M + 100 × $30/M.
  const [run] = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(run).toMatchObject({ agent: 'codex', outcome: 'succeeded', exitCode: 0, summary: 'Done: I wrote the file.', tokensIn: 2000, tokensOut: 100 });
  expect(run!.costUsd).toBeCloseTo(0.0112, 6);

  // Changes requested: the reviewer's words reach the CLI's prompt, and its new file lands on the same branch.
  await reviseOnce(h, c, review);
  const revision = callsFrom(worktree).slice(2);
  expect(revision).toHaveLength(2);
  expectRevisionPrompt(userText(revision[0]!));
});

test('the provider answers 500: Codex reports turn.failed and exits 1, the step is retried per policy, then the card fails', async () => {
  fake.mode = 'error500';
  // maxAttempts 2: two attempts, each a real CLI run whose one call got a 500.
  const runs = await failOnProvider(h);
  expect(fake.responseRequests().filter((body) => userText(body).includes(DOOMED_CANARY))).toHaveLength(2);
  expect(runs.every((r) => r.tokensIn === null && r.costUsd === null)).toBe(true);
});
