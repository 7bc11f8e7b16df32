/**
 * Ouija's secrets never reach an agent: with fake secrets in the worker's own environment, a demo agent that
 * prints its environment (names) shows none of them in its recorded progress events, only the allow-listed
 * basics and its profile's passEnv and env names; the same for an agent that runs unsandboxed by configuration.
 */
import { execFileSync } from 'node:child_process';
import { listCardEvents } from '../../../src/db';
import { startHarness, type Harness } from '../../support/ouija-harness';

const SECRETS: Record<string, string> = {
  GITHUB_TOKEN: 'ghp_fake-token-for-isolation-test',
  OUIJA_BUILTIN_WEBHOOK_SECRET: 'fake-builtin-webhook-secret',
  DATABASE_URL: 'postgres://fake:fake-db-password@127.0.0.1:1/fake',
  OUIJA_GITHUB_WEBHOOK_SECRET: 'fake-github-webhook-secret',
};
const PASSED = { AGENT_TEST_API_KEY: 'the-agent-s-own-key' };

const saved: Record<string, string | undefined> = {};
let h: Harness;
beforeAll(async () => {
  for (const [name, value] of Object.entries({ ...SECRETS, ...PASSED })) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  h = await startHarness({
    agent: { passEnv: ['AGENT_TEST_API_KEY'], env: { AGENT_TEST_BASE_URL: 'http://127.0.0.1:9' } },
    agents: { unboxed: { passEnv: ['AGENT_TEST_API_KEY'], sandbox: 'none' } },
    boards: { b2: { agent: 'unboxed' } },
  });
});
afterAll(async () => {
  await h?.stop();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The names the demo agent printed (`env: A B C`) and every message it recorded, for a finished card. */
async function runPrintEnvCard(title: string, body: string): Promise<{ names: string[]; messages: string[] }> {
  const card = await h.newCard(title, body);
  await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  await h.waitFor(card.cardKey, (s) => s.phase === 'review', `${title} in review`);
  const events = await listCardEvents(h.database.db, card.cardKey, { limit: 1000 });
  const line = events.find((e) => e.type === 'progress' && e.message.startsWith('env: '));
  if (!line) throw new Error(`no env line among ${JSON.stringify(events.map((e) => e.message))}`);
  return { names: line.message.slice('env: '.length).split(' '), messages: events.map((e) => e.message) };
}

function expectNoSecrets(names: string[], messages: string[]): void {
  for (const name of Object.keys(SECRETS)) expect(names).not.toContain(name);
  expect(names.filter((n) => /^(OUIJA_(?!TASK_FILE$|RUN_DIR$)|GITHUB_|GH_|PG|TEMPORAL_|DATABASE_)/.test(n))).toEqual([]);
  for (const value of Object.values(SECRETS)) expect(messages.join('\n')).not.toContain(value);
}

test("the recorded events show no secret of Ouija's, only the profile's passEnv and env names (sandboxed, the default)", async () => {
  try {
    execFileSync('bwrap', ['--version']);
  } catch {
    throw new Error('bwrap is not installed (apt-get install bubblewrap; .ci/run installs it)');
  }
  const { names, messages } = await runPrintEnvCard('Print my environment', 'ouija-demo: print-env');
  expectNoSecrets(names, messages);
  expect(names).toEqual(expect.arrayContaining(['AGENT_TEST_API_KEY', 'AGENT_TEST_BASE_URL', 'HOME', 'PATH', 'TMPDIR', 'OUIJA_TASK_FILE', 'OUIJA_RUN_DIR']));
  // Nothing else from the worker's environment came along (PWD: bubblewrap sets it to the worktree).
  const allowed = new Set(['AGENT_TEST_API_KEY', 'AGENT_TEST_BASE_URL', 'HOME', 'PATH', 'TMPDIR', 'TERM', 'LANG', 'LC_ALL', 'PWD', 'OUIJA_TASK_FILE', 'OUIJA_RUN_DIR']);
  expect(names.filter((n) => !allowed.has(n))).toEqual([]);
});

test('unsandboxed ("sandbox": "none") too', async () => {
  // Boards get IDs b1, b2, … in creation order: this card's board is b2, which runs the unsandboxed profile.
  const { names, messages } = await runPrintEnvCard('Print my environment without a box', 'ouija-demo: print-env');
  expectNoSecrets(names, messages);
  expect(names).toContain('AGENT_TEST_API_KEY');
  expect(names).not.toContain('AGENT_TEST_BASE_URL'); // that profile does not set it
  expect(names).not.toContain('PWD');
});
