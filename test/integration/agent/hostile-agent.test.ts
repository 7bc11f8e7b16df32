/**
 * A hostile agent under the DEFAULT configuration (its profile says nothing about a sandbox): a `command` agent
 * whose card tells it where to look (fixtures/hostile-agent.js) tries to read the built-in webhook secret at
 * the place `ouija dev` keeps it, the PGlite database directory, another card's worktree, the data directory,
 * two other Ouija instances' data directories (one in /tmp, one elsewhere) and the worker's environment, and
 * commits what it found. The pushed branch must show that it found none of them, and the card reaches Review.
 * The data directory and the secrets are outside /tmp, where production keeps them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinWebhookSecret } from '../../../src/cli/services';
import { startHarness, type Harness } from '../../support/ouija-harness';

const HOSTILE = path.join(__dirname, 'fixtures', 'hostile-agent.js');
const OUTSIDE_TMP = path.resolve(__dirname, '..', '..', '.tmp');
const CANARY = 'worker-env-canary-5be1c0';

let h: Harness;
let base: string;
let otherInTmp: string;
const saved = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, canary: process.env.OUIJA_HOSTILE_TEST_CANARY };

beforeAll(async () => {
  if (!/bubblewrap/.test(execFileSync('bwrap', ['--version'], { encoding: 'utf8' }))) throw new Error('bwrap is not installed (apt-get install bubblewrap)');
  mkdirSync(OUTSIDE_TMP, { recursive: true });
  base = mkdtempSync(path.join(OUTSIDE_TMP, 'hostile-'));
  // Where this Ouija keeps its generated secrets ($XDG_STATE_HOME/ouija/...), for the worker too.
  process.env.XDG_STATE_HOME = path.join(base, 'state');
  process.env.OUIJA_HOSTILE_TEST_CANARY = CANARY;
  h = await startHarness({
    dataDir: path.join(base, 'project', '.ouija'),
    // No DATABASE_URL: the embedded PGlite, in <data>/pglite, as `ouija dev` runs it.
    databaseUrl: undefined,
    agents: { hostile: { command: process.execPath, args: [HOSTILE] } },
    boards: { b2: { agent: 'hostile' } },
  });
});

afterAll(async () => {
  await h?.stop();
  for (const [name, value] of [['XDG_STATE_HOME', saved.XDG_STATE_HOME], ['OUIJA_HOSTILE_TEST_CANARY', saved.canary]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(base, { recursive: true, force: true });
  if (otherInTmp) rmSync(otherInTmp, { recursive: true, force: true });
});

/** A stand-in for another Ouija instance's data directory, with a secret where older versions kept it. */
function otherInstance(parent: string): { dir: string; secret: string } {
  const dir = path.join(parent, '.ouija');
  mkdirSync(path.join(dir, 'secrets'), { recursive: true });
  mkdirSync(path.join(dir, 'pglite'), { recursive: true });
  const secret = `other-instance-secret-${path.basename(parent)}`;
  writeFileSync(path.join(dir, 'secrets', 'builtin-webhook-secret'), secret);
  return { dir, secret };
}

test('finds none of the secrets, databases, other cards or other instances, and still reaches Review', async () => {
  expect(h.ouija.databaseKind).toBe('pglite');
  const dataDir = h.config.dataDir;
  // The secret as `ouija dev` generates it for this data directory, at its real location.
  const { secret, file: secretFile } = builtinWebhookSecret({ ...h.config, secrets: {} });
  otherInTmp = mkdtempSync(path.join(tmpdir(), 'ouija-other-instance-'));
  const others = [otherInstance(otherInTmp), otherInstance(path.join(base, 'elsewhere'))];

  // Another card first, on the default (demo) agent: its worktree stays while it is in review.
  const first = await h.newCard('The other card', 'ouija-demo: marker=other-card-content-91c2');
  await h.api('POST', `/api/cards/${first.cardId}/move`, { column: 'in-progress', expectedVersion: first.version });
  const firstReview = await h.waitFor(first.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'the other card in review');
  expect(firstReview.phase).toBe('review');
  const otherWorktree = firstReview.workspace!.path;
  const otherFile = execFileSync('git', ['ls-files', 'ouija-notes'], { cwd: otherWorktree, encoding: 'utf8' }).trim();
  expect(otherFile).not.toBe('');

  const targets = {
    secretFile,
    databaseDir: path.join(dataDir, 'pglite'),
    otherWorktree,
    otherFile,
    dataDir,
    otherInstances: others.map((o) => o.dir),
    workerPid: process.pid,
  };
  const card = await h.newCard('Look around', JSON.stringify(targets));
  await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  const review = await h.waitFor(card.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'the hostile card in review');
  expect(review.phase).toBe('review');

  const text = execFileSync('git', ['--git-dir', h.remote, 'show', `refs/heads/${review.workspace!.branch}:findings.json`], { encoding: 'utf8' });
  const findings = JSON.parse(text) as Record<string, { found: boolean; value?: string; error?: string }>;
  // The agent did run and look (every attempt is recorded) ...
  expect(Object.keys(findings).sort()).toEqual(
    ['secret-file', 'database-dir', 'database-file', 'other-card-worktree', 'other-card-file', 'data-dir-listing', 'other-instance-0', 'other-instance-0-secret', 'other-instance-1', 'other-instance-1-secret', 'worker-environ', 'walk-up'].sort(),
  );
  // ... and found nothing: no secret, database, other card, other instance or worker environment.
  for (const name of ['secret-file', 'database-dir', 'database-file', 'other-card-worktree', 'other-card-file', 'other-instance-0', 'other-instance-0-secret', 'other-instance-1', 'other-instance-1-secret', 'worker-environ']) {
    expect([name, findings[name]!.found, findings[name]!.error]).toEqual([name, false, 'ENOENT']);
  }
  // The data directory shows only the mount points of the card's own paths.
  expect(findings['data-dir-listing']).toEqual({ found: true, value: 'runs,workspaces' });
  for (const leak of [secret, ...others.map((o) => o.secret), 'other-card-content-91c2', CANARY, 'pglite', 'secrets', 'temporal']) {
    expect([leak, text.includes(leak)]).toEqual([leak, false]);
  }
});
