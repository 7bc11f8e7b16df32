/**
 * Parallel groups: `{"parallel": [...], "onFailure": ...}` in the pipeline runs its steps' agents at once, each
 * in a worktree of its own, and merges their branches into the card's branch before the next step. A step's
 * failure decides the group by its declared policy, from that step's own result (no polling).
 * The demo agent's `per-step` directive makes each step write its own file; `sleep@<step>` / `exit@<step>`
 * script one step only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { git } from '../../../src/cli/local-repo';
import { listAgentRuns, type AgentRun } from '../../../src/db';
import type { CardState, GroupFailurePolicy } from '../../../src/core/types';
import { startHarness, type Harness } from '../../support/ouija-harness';

const GROUP = ['lint', 'docs', 'tests'];

function pipeline(onFailure: GroupFailurePolicy) {
  return ['plan', { parallel: GROUP, onFailure }, 'wrap-up'];
}

async function moveToWorking(h: Harness, body: string): Promise<{ cardKey: string; cardId: string }> {
  const c = await h.newCard('Parallel work', body);
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  expect(moved.status).toBe(200);
  return c;
}

const byStep = (runs: AgentRun[], step: string) => runs.filter((r) => r.step === step);
const ms = (d: Date | string | null) => (d === null ? NaN : new Date(d).getTime());

/** Files on the remote branch under ouija-notes/. */
async function notesOnRemote(h: Harness, branch: string): Promise<string[]> {
  const out = await git(h.remote, 'ls-tree', '-r', '--name-only', `refs/heads/${branch}`, '--', 'ouija-notes');
  return out.split('\n').filter(Boolean).map((f) => path.basename(f)).sort();
}

/** Worktree directories of parallel steps still on disk (they sit beside the card's, `<dir>--<step>`). */
function memberDirs(h: Harness): string[] {
  const dir = path.join(h.config.dataDir, 'workspaces', 'worktrees');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.includes('--')) : [];
}

/** A harness for the describe block it is called in, with the group under `policy`. */
function harnessWith(policy: GroupFailurePolicy): { h: Harness } {
  const holder = {} as { h: Harness };
  beforeAll(async () => {
    holder.h = await startHarness({ pipeline: pipeline(policy), agent: { maxConcurrent: 4 } });
  });
  afterAll(async () => holder.h?.stop());
  return holder;
}

describe('fail-fast (the default policy)', () => {
  const ctx = harnessWith('fail-fast');

  test('the group runs at once, each step in its own worktree, merged before the next step; review has all of it', async () => {
    const { h } = ctx;
    const c = await moveToWorking(h, 'ouija-demo: per-step sleep@lint=1500 sleep@docs=1500 sleep@tests=1500');
    const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review', 120_000);
    const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
    expect(runs.map((r) => [r.step, r.outcome])).toEqual(
      expect.arrayContaining([['plan', 'succeeded'], ['lint', 'succeeded'], ['docs', 'succeeded'], ['tests', 'succeeded'], ['wrap-up', 'succeeded']]),
    );
    expect(runs).toHaveLength(5);
    const group = GROUP.map((step) => byStep(runs, step)[0]!);
    // Parallel: every group step started before any of them ended.
    const lastStart = Math.max(...group.map((r) => ms(r.startedAt)));
    const firstEnd = Math.min(...group.map((r) => ms(r.endedAt)));
    expect(lastStart).toBeLessThan(firstEnd);
    // In order around the group: plan ended before the group began; wrap-up began after the group ended.
    expect(ms(byStep(runs, 'plan')[0]!.endedAt)).toBeLessThanOrEqual(Math.min(...group.map((r) => ms(r.startedAt))));
    expect(ms(byStep(runs, 'wrap-up')[0]!.startedAt)).toBeGreaterThanOrEqual(Math.max(...group.map((r) => ms(r.endedAt))));

    const branch = review.workspace!.branch;
    const id = c.cardId.replace(/[^A-Za-z0-9_.-]/g, '-');
    expect(await notesOnRemote(h, branch)).toEqual([`${id}-docs.md`, `${id}-lint.md`, `${id}-plan.md`, `${id}-tests.md`, `${id}-wrap-up.md`].sort());
    const merges = await git(h.remote, 'log', '--merges', '--format=%s', `refs/heads/${branch}`);
    expect(merges.split('\n').sort()).toEqual(GROUP.map((step) => `Merge parallel step ${step}`).sort());
    expect(review.lastSummary).toMatch(/wrap-up|ouija-notes/);
    expect(memberDirs(h)).toEqual([]);
    // The steps' local branches are gone from the card's repository, and only the card's branch reached the remote.
    const cardRepo = path.join(h.config.dataDir, 'workspaces', 'cards', `${path.basename(review.workspace!.path)}.git`);
    expect(await git(cardRepo, 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe(`refs/heads/${branch}`);
    expect(await git(h.remote, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/ouija/')).toBe(branch);
  });

  test('one step fails: the others are cancelled (their processes stop at once) and the card fails naming the step', async () => {
    const { h } = ctx;
    const c = await moveToWorking(h, 'ouija-demo: per-step exit@lint=3 sleep@docs=60000 sleep@tests=60000');
    const started = Date.now();
    const failed = await h.waitFor(c.cardKey, (s) => s.phase === 'failed' && s.inFlight === null, 'failed', 120_000);
    // Well before the 60 s the other steps would have worked: they were stopped, not waited for.
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(failed.lastError).toMatch(/lint: .*3/);
    expect(failed.lastError).toMatch(/docs: cancelled \(fail-fast\)/);
    const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
    expect(byStep(runs, 'lint').every((r) => r.outcome === 'failed')).toBe(true);
    expect(byStep(runs, 'docs').map((r) => r.outcome)).toEqual(['cancelled']);
    expect(byStep(runs, 'tests').map((r) => r.outcome)).toEqual(['cancelled']);
    expect(byStep(runs, 'wrap-up')).toEqual([]);
    expect(memberDirs(h)).toEqual([]);
  });

  test('steps that change the same lines conflict: the merge is aborted and the card fails, saying which files', async () => {
    const { h } = ctx;
    // Without per-step every step writes the same notes file.
    const c = await moveToWorking(h, 'Same file for all.');
    const failed: CardState = await h.waitFor(c.cardKey, (s) => s.phase === 'failed' && s.inFlight === null, 'failed', 120_000);
    expect(failed.lastError).toMatch(/conflicts with the steps merged before it in: ouija-notes\//);
    expect(memberDirs(h)).toEqual([]);
  });
});

describe('wait-all', () => {
  const ctx = harnessWith('wait-all');

  test('one step fails: the others finish, then the card fails', async () => {
    const { h } = ctx;
    const c = await moveToWorking(h, 'ouija-demo: per-step exit@lint=3 sleep@docs=3000');
    const failed = await h.waitFor(c.cardKey, (s) => s.phase === 'failed' && s.inFlight === null, 'failed', 120_000);
    expect(failed.lastError).toMatch(/^lint: /);
    const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
    expect(byStep(runs, 'docs').map((r) => r.outcome)).toEqual(['succeeded']);
    expect(byStep(runs, 'tests').map((r) => r.outcome)).toEqual(['succeeded']);
    expect(byStep(runs, 'wrap-up')).toEqual([]);
  });
});

describe('best-effort', () => {
  const ctx = harnessWith('best-effort');

  test('one step fails: the others are merged and the card goes on to review without it', async () => {
    const { h } = ctx;
    const c = await moveToWorking(h, 'ouija-demo: per-step exit@lint=3');
    const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review', 120_000);
    const id = c.cardId.replace(/[^A-Za-z0-9_.-]/g, '-');
    expect(await notesOnRemote(h, review.workspace!.branch)).toEqual([`${id}-docs.md`, `${id}-plan.md`, `${id}-tests.md`, `${id}-wrap-up.md`].sort());
    expect(memberDirs(h)).toEqual([]);
  });
});
