/**
 * The quick subset of the bad-input corpus (test/fixtures/bad-input/, cases marked `quick`); `npm run
 * reliability` runs all of it. Each case must get its expected status (a webhook 4xx also logged), the server
 * must stay up, and hostile card text must run end to end without reaching a shell or leaving the workspace root.
 */
import { loadCorpus } from '../../reliability/bad-input/corpus';
import { prepareWorld, runCases, worldChecks, type CorpusWorld } from '../../reliability/bad-input/run-cases';
import { startHarness, WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';

const GITHUB_SECRET = 'test-github-secret';
let h: Harness;
let world: CorpusWorld;
beforeAll(async () => {
  h = await startHarness({ secrets: { builtinWebhook: WEBHOOK_SECRET, githubWebhook: GITHUB_SECRET } });
  world = await prepareWorld(h, { builtin: WEBHOOK_SECRET, github: GITHUB_SECRET });
});
afterAll(async () => {
  await h?.stop();
});

test('the corpus is big enough and every kind has a quick case', () => {
  const all = loadCorpus();
  expect(all.length).toBeGreaterThanOrEqual(200);
  expect(new Set(loadCorpus({ quickOnly: true }).map((c) => c.kind))).toEqual(new Set(['webhook', 'api', 'card', 'board']));
});

test('quick bad-input cases: rejected with the right status or neutralised; server up; nothing outside the root', async () => {
  const outcomes = await runCases(world, loadCorpus({ quickOnly: true }));
  const checks = await worldChecks(world);
  const failed = [...outcomes, ...checks].filter((o) => !o.pass);
  expect(failed).toEqual([]);
  expect(outcomes.length).toBe(loadCorpus({ quickOnly: true }).length);
});
