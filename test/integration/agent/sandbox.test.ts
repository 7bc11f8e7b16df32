/**
 * The bubblewrap sandbox with real processes: a sandboxed agent writes its worktree, its run directory and (to
 * commit) the worktree's git directories, and nothing else; the data directory is hidden; host processes are
 * out of sight. A whole card with a sandboxed demo agent still reaches Review.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandAdapter, runAgent, type AgentEvent } from '../../../src/plugins/agent';
import { startHarness } from '../../support/ouija-harness';
import { git, makeTask } from './helpers';

/** Tries each write and read it is told to and reports every outcome as a progress line. */
const PROBE = `
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const report = (what, fn) => {
  let outcome;
  try { fn(); outcome = 'ok'; } catch (e) { outcome = e.code || e.message.split('\\n')[0]; }
  process.stdout.write(JSON.stringify({ type: 'progress', message: what + '=' + outcome }) + '\\n');
};
const probe = JSON.parse(process.env.PROBE);
report('write-worktree', () => fs.writeFileSync('inside.txt', 'from the agent\\n'));
report('write-home', () => fs.writeFileSync(process.env.HOME + '/note', 'x'));
report('write-tmp', () => fs.writeFileSync('/tmp/' + probe.tmpName, 'x'));
for (const file of probe.outside) report('write-outside:' + file, () => fs.writeFileSync(file, 'escaped'));
report('read-secret', () => fs.readFileSync(probe.secret, 'utf8'));
report('host-processes', () => { if (!fs.readdirSync('/proc').some((p) => p === String(probe.hostPid))) throw new Error('hidden'); });
const git = (...args) => execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b.invalid', ...args], { stdio: 'pipe' });
report('git-commit', () => { git('add', 'inside.txt'); git('commit', '-q', '-m', 'sandboxed commit'); });
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
    const at = e.message.lastIndexOf('=');
    out[e.message.slice(0, at)] = e.message.slice(at + 1);
  }
  return out;
}

describe('the bwrap sandbox', () => {
  beforeAll(() => {
    if (!bwrapInstalled) throw new Error('bwrap is not installed (apt-get install bubblewrap; .ci/run installs it)');
  });

  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ouija-sandbox-test-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lets the agent write and commit in its worktree and run dir only, and hides the data directory', async () => {
    // The production layout in miniature: a data directory holding a bare mirror with a linked worktree,
    // the card's run directory and a secret.
    const data = join(root, 'data');
    const mirror = join(data, 'workspaces', 'mirrors', 'm.git');
    const worktree = join(data, 'workspaces', 'worktrees', 'card-1');
    const runDir = join(data, 'runs', 'card-1', 'attempt-1');
    const secret = join(data, 'secrets', 'builtin-webhook-secret');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', mirror]);
    const seed = join(root, 'seed');
    execFileSync('git', ['init', '-q', '-b', 'main', seed]);
    git(seed, ['-c', 'user.name=T', '-c', 'user.email=t@e.invalid', 'commit', '-q', '--allow-empty', '-m', 'init']);
    git(seed, ['push', '-q', mirror, 'main']);
    execFileSync('git', ['--git-dir', mirror, 'worktree', 'add', '-q', '-b', 'ouija/card-1', worktree, 'main']);
    mkdirSync(join(data, 'secrets'), { recursive: true });
    writeFileSync(secret, 'the-secret\n');
    // Read-only everywhere outside the run's paths; /tmp and the data directory are private, empty tmpfs
    // mounts, so writes there succeed inside the sandbox and vanish with it.
    const readOnly = [join(mirror, 'config'), join(mirror, 'hooks', 'pre-commit'), `/var/tmp/ouija-sandbox-escape-${process.pid}`];
    const discarded = [join(root, 'escaped.txt'), join(data, 'planted.txt')];
    const outside = [...readOnly, ...discarded];
    const tmpName = `ouija-sandbox-probe-${process.pid}`;

    const events: AgentEvent[] = [];
    await runAgent({
      adapter: commandAdapter({ command: process.execPath, args: ['-e', PROBE] }),
      task: makeTask({ root, worktree, runDir, pidFile: '', remove: () => {} }),
      runDir,
      pidFile: join(root, 'pids', 'card.pid'),
      signal: new AbortController().signal,
      silenceTimeoutMs: 30_000,
      env: { PROBE: JSON.stringify({ outside, secret, tmpName, hostPid: process.pid }) },
      sandbox: { mode: 'bwrap', hidden: [data] },
      onEvent: (e) => events.push(e),
    });

    const seen = outcomes(events);
    expect(seen).toMatchObject({ 'write-worktree': 'ok', 'write-home': 'ok', 'write-tmp': 'ok', 'git-commit': 'ok' });
    for (const file of readOnly) expect(seen[`write-outside:${file}`]).toMatch(/^E(ROFS|ACCES|PERM)$/);
    expect(seen['read-secret']).toBe('ENOENT');
    expect(seen['host-processes']).toBe('hidden');

    // What the host sees afterwards: the worktree file and the commit, nothing outside, the mirror untouched.
    expect(readFileSync(join(worktree, 'inside.txt'), 'utf8')).toBe('from the agent\n');
    expect(git(worktree, ['log', '-1', '--format=%s'])).toBe('sandboxed commit');
    for (const file of [...discarded, ...readOnly.slice(1)]) expect(existsSync(file)).toBe(false);
    expect(readFileSync(join(mirror, 'config'), 'utf8')).not.toContain('escaped');
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

  it('runs a whole card with a sandboxed demo agent to Review', async () => {
    const h = await startHarness({ agent: { sandbox: 'bwrap' } });
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
