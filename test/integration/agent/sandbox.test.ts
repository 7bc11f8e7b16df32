/**
 * The bubblewrap sandbox with real processes, on the real workspace layout (two cards' worktrees and
 * repositories from Workspaces.prepare, one mirror) inside a data directory that is NOT under /tmp (the
 * sandbox's private /tmp would hide it for free): the agent writes its worktree, its run directory and its own
 * branch, and nothing else; it sees neither the data directory's other contents, nor the other card, nor the
 * mirror's refs, nor another Ouija instance elsewhere on the machine; host processes are out of sight. Its
 * commit is pushed by the host. A whole card with the default configuration (sandboxed) reaches Review.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path, { join } from 'node:path';
import { branchNameForCard, cardKey } from '../../../src/core/cards';
import { commandAdapter, runAgent, type AgentEvent } from '../../../src/plugins/agent';
import { createWorkspaces, parseRemote } from '../../../src/plugins/git';
import { createBareRemote } from '../../../src/cli/local-repo';
import { startHarness } from '../../support/ouija-harness';
import { git, makeTask } from './helpers';

/** Tries each write and read it is told to and reports every outcome as a progress line. */
const PROBE = `
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const report = (what, fn) => {
  let outcome;
  try { outcome = fn() ?? 'ok'; } catch (e) { outcome = e.code || String(e.status ?? e.message.split('\\n')[0]); }
  process.stdout.write(JSON.stringify({ type: 'progress', message: what + '=' + outcome }) + '\\n');
};
const probe = JSON.parse(process.env.PROBE);
const git = (...args) => execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b.invalid', ...args], { stdio: 'pipe' }).toString();
report('write-worktree', () => fs.writeFileSync('inside.txt', 'from the agent\\n'));
report('write-home', () => fs.writeFileSync(process.env.HOME + '/note', 'x'));
report('write-tmp', () => fs.writeFileSync('/tmp/' + probe.tmpName, 'x'));
report('git-commit', () => { git('add', 'inside.txt'); git('commit', '-q', '-m', 'sandboxed commit'); });
for (const [name, file] of Object.entries(probe.writes)) report('write:' + name, () => fs.writeFileSync(file, 'escaped'));
for (const [name, file] of Object.entries(probe.reads)) report('read:' + name, () => fs.readFileSync(file, 'utf8') === '' ? 'empty' : 'read');
report('list-data', () => fs.readdirSync(probe.data).sort().join(','));
report('git-other-ref', () => { git('--git-dir', probe.otherRepo, 'update-ref', 'refs/heads/' + probe.otherBranch, 'HEAD'); });
report('git-mirror-ref', () => { git('--git-dir', probe.mirror, 'update-ref', 'refs/remotes/origin/main', 'HEAD'); });
// From a file, not stdin: git refusing early would otherwise show as EPIPE on the pipe instead of its exit status.
report('git-mirror-object', () => { fs.writeFileSync('planted.txt', 'planted'); execFileSync('git', ['--git-dir', probe.mirror, 'hash-object', '-w', 'planted.txt'], { stdio: 'pipe' }); });
report('host-processes', () => { if (!fs.readdirSync('/proc').some((p) => p === String(probe.hostPid))) return 'hidden'; });
report('which-node', () => execFileSync('node', ['-e', 'process.stdout.write("yes")']).toString());
`;

const bwrapInstalled = (() => {
  try {
    execFileSync('bwrap', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

function outcomes(events: AgentEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) {
    if (e.type !== 'progress') continue;
    const at = e.message.indexOf('=');
    out[e.message.slice(0, at)] = e.message.slice(at + 1);
  }
  return out;
}

/** Outside /tmp (test/.tmp is git-ignored): the sandbox must hide these by what it shows, not by its tmpfs. */
const OUTSIDE_TMP = path.resolve(__dirname, '..', '..', '.tmp');

describe('the bwrap sandbox', () => {
  beforeAll(() => {
    if (!bwrapInstalled) throw new Error('bwrap is not installed (apt-get install bubblewrap; .ci/run installs it)');
  });

  let root: string;
  beforeEach(() => {
    mkdirSync(OUTSIDE_TMP, { recursive: true });
    root = mkdtempSync(join(OUTSIDE_TMP, 'sandbox-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lets the agent write its worktree, run dir and own branch only, and shows it nothing of Ouija's or anyone else's", async () => {
    // The production layout: a data directory with workspaces (a mirror, two cards' repositories and worktrees),
    // runs, a database directory and a secret; and a second Ouija instance elsewhere on the machine.
    const data = join(root, 'instance', '.ouija');
    const remote = await createBareRemote(root);
    const workspaces = createWorkspaces({ root: join(data, 'workspaces') });
    const cardOf = (id: string) => ({ key: cardKey({ provider: 'builtin', boardId: 'b1', cardId: id }), branch: branchNameForCard({ provider: 'builtin', boardId: 'b1', cardId: id }, `Card ${id}`) });
    const [own, other] = [cardOf('1'), cardOf('2')];
    const ws = await workspaces.prepare({ cardKey: own.key, repo: remote, branch: own.branch });
    const otherWs = await workspaces.prepare({ cardKey: other.key, repo: remote, branch: other.branch });
    writeFileSync(join(otherWs.path, 'other-card.txt'), 'the other card\n');
    const mirror = join(data, 'workspaces', 'mirrors', `${parseRemote(remote).fingerprint}.git`);
    const repoOf = (worktree: string) => join(data, 'workspaces', 'cards', `${path.basename(worktree)}.git`);
    const runDir = join(data, 'runs', 'card-1', 'attempt-1');
    const secrets = join(root, 'state', 'ouija');
    mkdirSync(join(secrets, 'instance'), { recursive: true });
    writeFileSync(join(secrets, 'instance', 'builtin-webhook-secret'), 'the-secret\n');
    mkdirSync(join(data, 'pglite'), { recursive: true });
    writeFileSync(join(data, 'pglite', 'PG_VERSION'), '17\n');
    const otherInstance = join(root, 'elsewhere', '.ouija');
    mkdirSync(join(otherInstance, 'secrets'), { recursive: true });
    writeFileSync(join(otherInstance, 'secrets', 'builtin-webhook-secret'), 'their-secret\n');
    const ownRepo = repoOf(ws.path);
    const adminDir = join(ownRepo, 'worktrees', path.basename(ws.path));
    const tmpName = `ouija-sandbox-probe-${process.pid}`;
    const probe = {
      tmpName,
      hostPid: process.pid,
      data,
      mirror,
      otherRepo: repoOf(otherWs.path),
      otherBranch: other.branch,
      writes: {
        'own-config': join(ownRepo, 'config'),
        'own-alternates': join(ownRepo, 'objects', 'info', 'alternates'),
        'own-commondir': join(adminDir, 'commondir'),
        'mirror-ref': join(mirror, 'refs', 'remotes', 'origin', 'main'),
        'mirror-object': join(mirror, 'objects', 'planted'),
        'other-ref': join(repoOf(otherWs.path), 'refs', 'heads', 'ouija', 'planted'),
        'other-worktree': join(otherWs.path, 'planted.txt'),
      },
      reads: {
        secret: join(secrets, 'instance', 'builtin-webhook-secret'),
        pglite: join(data, 'pglite', 'PG_VERSION'),
        'other-worktree': join(otherWs.path, 'other-card.txt'),
        'other-instance': join(otherInstance, 'secrets', 'builtin-webhook-secret'),
        'etc-shadow': '/etc/shadow',
      },
    };

    const events: AgentEvent[] = [];
    await runAgent({
      adapter: commandAdapter({ command: process.execPath, args: ['-e', PROBE] }),
      task: makeTask({ root, worktree: ws.path, runDir, pidFile: '', remove: () => {} }),
      runDir,
      pidFile: join(data, 'runs', 'card-1', 'agent.pid'),
      stateDir: join(data, 'runs', 'card-1', 'state'),
      signal: new AbortController().signal,
      silenceTimeoutMs: 30_000,
      env: { PROBE: JSON.stringify(probe) },
      sandbox: { mode: 'bwrap', hidden: [data, secrets] },
      onEvent: (e) => events.push(e),
    });

    const seen = outcomes(events);
    expect(seen).toMatchObject({ 'write-worktree': 'ok', 'write-home': 'ok', 'write-tmp': 'ok', 'git-commit': 'ok', 'which-node': 'yes', 'host-processes': 'hidden' });
    // Its own repository's config, alternates and the admin directory's link are read-only; the mirror's refs and
    // the other card are not there at all, the mirror's objects are read-only.
    for (const name of ['own-config', 'own-alternates', 'own-commondir', 'mirror-object']) expect([name, seen[`write:${name}`]]).toEqual([name, expect.stringMatching(/^E(ROFS|ACCES|PERM|BUSY)$/)]);
    for (const name of ['mirror-ref', 'other-ref', 'other-worktree']) expect([name, seen[`write:${name}`]]).toEqual([name, 'ENOENT']);
    for (const name of ['secret', 'pglite', 'other-worktree', 'other-instance']) expect([name, seen[`read:${name}`]]).toEqual([name, 'ENOENT']);
    // Masked with /dev/null, which bwrap mounts nodev: unreadable.
    expect(seen['read:etc-shadow']).toMatch(/^(empty|ENOENT|EACCES)$/);
    // The data directory shows only the mount points of the run's own paths.
    expect(seen['list-data']).toBe('runs,workspaces');
    for (const name of ['git-other-ref', 'git-mirror-ref', 'git-mirror-object']) expect([name, seen[name]]).toEqual([name, expect.stringMatching(/^\d+$/)]);

    // What the host sees afterwards: the commit on the card's own branch, which the host pushes; the other card,
    // the mirror and everything outside untouched.
    expect(readFileSync(join(ws.path, 'inside.txt'), 'utf8')).toBe('from the agent\n');
    expect(git(ws.path, ['log', '-1', '--format=%s'])).toBe('sandboxed commit');
    const { remoteSha } = await workspaces.push({ path: ws.path, repo: remote, branch: own.branch, expectedRemoteSha: null });
    expect(git(remote, ['log', '-1', '--format=%s', remoteSha])).toBe('sandboxed commit');
    expect(git(repoOf(otherWs.path), ['for-each-ref', '--format=%(refname) %(objectname)'])).toBe(`refs/heads/${other.branch} ${otherWs.baseSha}`);
    expect(git(mirror, ['for-each-ref', '--format=%(refname)', 'refs/remotes/', 'refs/heads/'])).toBe(`refs/remotes/origin/main\nrefs/remotes/origin/${own.branch}`);
    expect(git(mirror, ['rev-parse', 'refs/remotes/origin/main'])).toBe(ws.baseSha);
    expect(readFileSync(join(ownRepo, 'objects', 'info', 'alternates'), 'utf8')).toBe(`${join(mirror, 'objects')}\n`);
    expect(existsSync(join(otherWs.path, 'planted.txt'))).toBe(false);
    expect(existsSync(join('/tmp', tmpName))).toBe(false);
    expect(existsSync(join(runDir, 'home', 'note'))).toBe(true);
  });

  it('refuses a worktree whose .git link was pointed elsewhere', async () => {
    const worktree = join(root, 'wt');
    mkdirSync(join(root, 'elsewhere', 'worktrees', 'x'), { recursive: true });
    mkdirSync(worktree);
    writeFileSync(join(worktree, '.git'), `gitdir: ${join(root, 'elsewhere', 'worktrees', 'x')}\n`);
    const run = runAgent({
      adapter: commandAdapter({ command: process.execPath, args: ['-e', ''] }),
      task: makeTask({ root, worktree, runDir: join(root, 'run'), pidFile: '', remove: () => {} }),
      runDir: join(root, 'run'),
      pidFile: join(root, 'card.pid'),
      signal: new AbortController().signal,
      silenceTimeoutMs: 10_000,
      sandbox: { mode: 'bwrap' },
      onEvent: () => {},
    });
    await expect(run).rejects.toMatchObject({ name: 'SandboxError' });
  });

  it('refuses a sandboxed agent where bwrap is not on PATH, and runs it with sandbox none', async () => {
    const worktree = join(root, 'repo');
    execFileSync('git', ['init', '-q', worktree]);
    const saved = process.env.PATH;
    process.env.PATH = join(root, 'no-bwrap-here');
    try {
      const start = (mode: 'bwrap' | 'none') =>
        runAgent({
          adapter: commandAdapter({ command: process.execPath, args: ['-e', 'console.log(JSON.stringify({ type: "result", summary: "ran" }))'] }),
          task: makeTask({ root, worktree, runDir: join(root, `run-${mode}`), pidFile: '', remove: () => {} }),
          runDir: join(root, `run-${mode}`),
          pidFile: join(root, 'card.pid'),
          signal: new AbortController().signal,
          silenceTimeoutMs: 10_000,
          sandbox: { mode },
          onEvent: () => {},
        });
      await expect(start('bwrap')).rejects.toMatchObject({ name: 'SandboxError', message: expect.stringMatching(/bwrap is not on PATH.*"sandbox": "none"/) });
      await expect(start('none')).resolves.toMatchObject({ summary: 'ran' });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('runs a whole card with the default configuration (sandboxed) demo agent to Review', async () => {
    const h = await startHarness();
    try {
      const card = await h.newCard('Sandboxed card');
      await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
      const state = await h.waitFor(card.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'the card in review');
      expect(state.phase).toBe('review');
      // The demo agent's own commit (made inside the sandbox) is on the pushed branch.
      const log = execFileSync('git', ['--git-dir', h.remote, 'log', '--format=%s', state.workspace!.branch], { encoding: 'utf8' });
      expect(log).toMatch(/ouija demo: implement notes/);
    } finally {
      await h.stop();
    }
  });
});
