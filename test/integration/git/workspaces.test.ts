/**
 * The git workspace plugin against real git: a bare repository in a temp dir is the remote, with one commit
 * on main. Plain `git` (execFileSync below) plays everyone else: a colleague pushing, a hostile agent.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { branchNameForCard, cardKey } from '../../../src/core/cards';
import type { CardRef } from '../../../src/core/types';
import {
  createWorkspaces,
  LeaseRejectedError,
  parseRemote,
  UnsafeGitInputError,
  UnsafeRepositoryConfigError,
  type Workspaces,
} from '../../../src/plugins/git';
import { gitCommandDuration } from '../../../src/plugins/git/hardened-git';

/** Plain git, as a person or an agent would run it (no hardening, hooks enabled). */
function git(cwd: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'user.name=Someone', '-c', 'user.email=someone@example.com', ...args], {
    cwd,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const card = (cardId: string): { key: string; branch: string } => {
  const ref: CardRef = { provider: 'builtin', boardId: 'board1', cardId };
  return { key: cardKey(ref), branch: branchNameForCard(ref, `Card ${cardId}`) };
};

let dir: string;
let remote: string;
let root: string;
let mainSha: string;
let workspaces: Workspaces;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'ouija-git-')));
  remote = path.join(dir, 'remote.git');
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', remote);
  const seed = path.join(dir, 'seed');
  git(dir, 'clone', '--quiet', remote, seed);
  writeFileSync(path.join(seed, 'README.md'), 'hello\n');
  git(seed, 'add', 'README.md');
  git(seed, 'commit', '--quiet', '-m', 'initial');
  git(seed, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  mainSha = git(seed, 'rev-parse', 'HEAD');
  root = path.join(dir, 'ouija');
  workspaces = createWorkspaces({ root });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mirrorPath = (): string => path.join(root, 'mirrors', `${parseRemote(remote).fingerprint}.git`);
/** The card's own repository: `<root>/cards/<worktree dir>.git`. */
const cardRepo = (worktree: string): string => path.join(root, 'cards', `${path.basename(worktree)}.git`);
/** How many `git <command>` processes Ouija's hardened git has run in this test file so far. */
const gitRuns = async (command: string): Promise<number> =>
  ((await gitCommandDuration.get()).values.find((v) => v.metricName === 'ouija_git_command_duration_seconds_count' && v.labels.command === command && v.labels.ok === 'true')?.value ?? 0) as number;
const remoteSha = (branch: string): string | null => {
  const line = git(dir, 'ls-remote', remote, `refs/heads/${branch}`);
  return line ? (line.split('\t')[0] as string) : null;
};

/** Another clone pushes a commit to `branch` (a colleague, or a second Ouija). */
function pushFromElsewhere(branch: string, file: string): string {
  const other = path.join(dir, `other-${file}`);
  git(dir, 'clone', '--quiet', remote, other);
  if (remoteSha(branch)) git(other, 'checkout', '--quiet', branch);
  writeFileSync(path.join(other, file), 'theirs\n');
  git(other, 'add', file);
  git(other, 'commit', '--quiet', '-m', `add ${file}`);
  git(other, 'push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
  return git(other, 'rev-parse', 'HEAD');
}

describe('prepare', () => {
  it('makes a worktree on a new branch from the default branch', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(ws).toEqual({ path: expect.stringContaining(path.join(root, 'worktrees')), branch, baseSha: mainSha, remoteSha: null });
    expect(git(ws.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${branch}`);
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(mainSha);
    expect(readFileSync(path.join(ws.path, 'README.md'), 'utf8')).toBe('hello\n');
    // Fetched refs live apart from worktree branches.
    expect(git(mirrorPath(), 'rev-parse', 'refs/remotes/origin/main')).toBe(mainSha);
  });

  it('reuses the worktree on a second prepare and keeps uncommitted work', async () => {
    const { key, branch } = card('c1');
    const first = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    writeFileSync(path.join(first.path, 'wip.txt'), 'not committed yet\n');

    const second = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(second).toEqual(first);
    expect(readFileSync(path.join(second.path, 'wip.txt'), 'utf8')).toBe('not committed yet\n');
  });

  it('recreates a worktree whose directory was damaged', async () => {
    const { key, branch } = card('c1');
    const first = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    rmSync(path.join(first.path, '.git'));

    const second = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(second.path).toBe(first.path);
    expect(git(second.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${branch}`);
  });

  it('fast-forwards a reused worktree when someone pushed to the branch meanwhile', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    await workspaces.commitAll({ path: ws.path, message: 'ours' });
    const { remoteSha: ours } = await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null });
    writeFileSync(path.join(ws.path, 'wip.txt'), 'uncommitted\n');
    const theirs = pushFromElsewhere(branch, 'review-fix.txt');
    expect(git(remote, 'merge-base', '--is-ancestor', ours, theirs)).toBe(''); // theirs builds on ours

    const again = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(again.remoteSha).toBe(theirs);
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(theirs);
    expect(existsSync(path.join(ws.path, 'wip.txt'))).toBe(true);
  });

  it('prepares two cards of the same repository concurrently', async () => {
    const [a, b] = [card('c1'), card('c2')];
    const [wsA, wsB] = await Promise.all([
      workspaces.prepare({ cardKey: a.key, repo: remote, branch: a.branch }),
      workspaces.prepare({ cardKey: b.key, repo: remote, branch: b.branch }),
    ]);

    expect(wsA.path).not.toBe(wsB.path);
    expect(git(wsA.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${a.branch}`);
    expect(git(wsB.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${b.branch}`);
  });

  it("fetches the card's branch and the base only, not the remote's other branches", async () => {
    const unrelated = pushFromElsewhere('someone/else', 'else.txt');
    const { key, branch } = card('c1');

    await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(git(mirrorPath(), 'for-each-ref', '--format=%(refname)', 'refs/remotes/')).toBe('refs/remotes/origin/main');
    expect(() => git(mirrorPath(), 'cat-file', '-e', unrelated)).toThrow(); // nor its commits
  });

  it('runs no fetch when the remote has not moved since the last prepare', async () => {
    const [a, b] = [card('c1'), card('c2')];
    await workspaces.prepare({ cardKey: a.key, repo: remote, branch: a.branch });
    const fetchesBefore = await gitRuns('fetch');

    const ws = await workspaces.prepare({ cardKey: b.key, repo: remote, branch: b.branch });

    expect(await gitRuns('fetch')).toBe(fetchesBefore);
    expect(ws.baseSha).toBe(mainSha);
  });

  it('starts the next card from the base branch as it is now, after someone pushed to it', async () => {
    const [a, b] = [card('c1'), card('c2')];
    await workspaces.prepare({ cardKey: a.key, repo: remote, branch: a.branch });
    const newMain = pushFromElsewhere('main', 'later.txt');

    const ws = await workspaces.prepare({ cardKey: b.key, repo: remote, branch: b.branch });

    expect(ws.baseSha).toBe(newMain);
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(newMain);
    expect(git(mirrorPath(), 'rev-parse', 'refs/remotes/origin/main')).toBe(newMain);
  });

  it('forgets a remote branch that was deleted: the card starts again from the base', async () => {
    const { key, branch } = card('c1');
    const theirs = pushFromElsewhere(branch, 'review-fix.txt');
    const first = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    expect(first.remoteSha).toBe(theirs);
    await workspaces.cleanup({ cardKey: key, path: first.path });
    git(remote, 'update-ref', '-d', `refs/heads/${branch}`);

    const again = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(again.remoteSha).toBeNull();
    expect(git(again.path, 'rev-parse', 'HEAD')).toBe(mainSha);
    expect(git(mirrorPath(), 'for-each-ref', `refs/remotes/origin/${branch}`)).toBe('');
  });

  it.each([
    ['main'],
    ['--upload-pack=touch /tmp/ouija-pwned'],
    ['ouija/../../etc'],
    ['ouija/x y'],
  ])('refuses the branch name %j before git runs', async (branch) => {
    const { key } = card('c1');
    await expect(workspaces.prepare({ cardKey: key, repo: remote, branch })).rejects.toBeInstanceOf(UnsafeGitInputError);
    await expect(workspaces.remoteBranchSha({ repo: remote, branch })).rejects.toBeInstanceOf(UnsafeGitInputError);
    expect(existsSync(path.join(root, 'mirrors'))).toBe(false);
  });

  it('refuses remotes outside the allow-list before git runs', async () => {
    const { key, branch } = card('c1');
    for (const repo of ['ext::sh -c touch% /tmp/ouija-pwned', 'git://example.com/x.git', 'http://example.com/x.git', 'relative/path', '-oProxyCommand=x:y']) {
      await expect(workspaces.prepare({ cardKey: key, repo, branch })).rejects.toBeInstanceOf(UnsafeGitInputError);
    }
    expect(existsSync(path.join(root, 'mirrors'))).toBe(false);
  });
});

describe('commitAll, inspect and push', () => {
  it('commits, pushes to the remote, and treats a repeated push as done', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    writeFileSync(path.join(ws.path, 'feature.txt'), 'feature\n');

    const commit = await workspaces.commitAll({ path: ws.path, message: 'Add feature' });
    expect(commit.committed).toBe(true);
    expect(git(ws.path, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s')).toBe('Ouija <ouija@localhost>|Ouija <ouija@localhost>|Add feature');
    expect(await workspaces.commitAll({ path: ws.path, message: 'Add feature' })).toEqual({ committed: false, headSha: commit.headSha });

    // The agent may also commit by itself; inspect counts both.
    writeFileSync(path.join(ws.path, 'agent.txt'), 'by the agent\n');
    git(ws.path, 'add', 'agent.txt');
    git(ws.path, 'commit', '--quiet', '-m', 'agent commit');
    const head = git(ws.path, 'rev-parse', 'HEAD');
    expect(await workspaces.inspect({ path: ws.path, baseSha: ws.baseSha })).toEqual({
      headSha: head,
      commits: 2,
      filesChanged: ['agent.txt', 'feature.txt'],
    });

    expect(await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null })).toEqual({ remoteSha: head });
    expect(remoteSha(branch)).toBe(head);
    expect(await workspaces.remoteBranchSha({ repo: remote, branch })).toBe(head);
    expect(git(mirrorPath(), 'rev-parse', `refs/remotes/origin/${branch}`)).toBe(head);

    // A retried activity pushes again with the same (now stale) lease.
    expect(await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null })).toEqual({ remoteSha: head });
    expect(remoteSha(branch)).toBe(head);
  });

  it('rejects a push with a stale lease and leaves the remote alone', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    writeFileSync(path.join(ws.path, 'a.txt'), 'a\n');
    await workspaces.commitAll({ path: ws.path, message: 'a' });
    const { remoteSha: first } = await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null });
    const theirs = pushFromElsewhere(branch, 'b.txt');
    writeFileSync(path.join(ws.path, 'c.txt'), 'c\n');
    await workspaces.commitAll({ path: ws.path, message: 'c' });

    const push = workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: first });

    await expect(push).rejects.toBeInstanceOf(LeaseRejectedError);
    await expect(push).rejects.toMatchObject({ expectedSha: first, actualSha: theirs });
    expect(remoteSha(branch)).toBe(theirs);
  });

  it('does not run hooks planted in the mirror or configured by a hostile agent', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    const marker = path.join(dir, 'hook-ran');
    const hook = `#!/bin/sh\necho "$0" >> '${marker}'\n`;
    const agentHooks = path.join(ws.path, '.agent-hooks');
    mkdirSync(agentHooks);
    for (const hooksDir of [path.join(mirrorPath(), 'hooks'), path.join(cardRepo(ws.path), 'hooks'), agentHooks]) {
      for (const name of ['pre-commit', 'commit-msg', 'post-commit', 'pre-push', 'reference-transaction']) {
        writeFileSync(path.join(hooksDir, name), hook);
        chmodSync(path.join(hooksDir, name), 0o755);
      }
    }
    git(ws.path, 'config', 'core.hooksPath', agentHooks);
    writeFileSync(path.join(ws.path, 'x.txt'), 'x\n');

    const { committed, headSha } = await workspaces.commitAll({ path: ws.path, message: 'x' });
    await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null });

    expect(committed).toBe(true);
    expect(remoteSha(branch)).toBe(headSha);
    expect(existsSync(marker)).toBe(false);
    // Control: the planted hooks are live for plain git, so the assertion above can fail.
    git(ws.path, 'commit', '--quiet', '--allow-empty', '-m', 'plain');
    expect(readFileSync(marker, 'utf8')).toContain(path.join(agentHooks, 'pre-commit'));
  });

  it('refuses to run git where the repository config would run programs', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    const marker = path.join(dir, 'filter-ran');
    git(ws.path, 'config', 'filter.evil.clean', `sh -c 'touch ${marker}; cat'`);
    writeFileSync(path.join(ws.path, '.gitattributes'), '* filter=evil\n');
    writeFileSync(path.join(ws.path, 'y.txt'), 'y\n');

    await expect(workspaces.commitAll({ path: ws.path, message: 'y' })).rejects.toBeInstanceOf(UnsafeRepositoryConfigError);
    await expect(workspaces.prepare({ cardKey: key, repo: remote, branch })).rejects.toBeInstanceOf(UnsafeRepositoryConfigError);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a worktree whose .git link was pointed at another repository', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    const decoy = path.join(dir, 'decoy');
    git(dir, 'init', '--quiet', decoy);
    writeFileSync(path.join(ws.path, '.git'), `gitdir: ${path.join(decoy, '.git')}\n`);

    await expect(workspaces.commitAll({ path: ws.path, message: 'z' })).rejects.toBeInstanceOf(UnsafeGitInputError);
  });
});

describe('cleanup', () => {
  it('removes the worktree and its branch, and a later prepare starts from the pushed branch', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    writeFileSync(path.join(ws.path, 'kept.txt'), 'kept\n');
    const { headSha } = await workspaces.commitAll({ path: ws.path, message: 'keep me' });
    await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null });

    await workspaces.cleanup({ cardKey: key, path: ws.path });
    expect(existsSync(ws.path)).toBe(false);
    expect(existsSync(cardRepo(ws.path))).toBe(false);
    // The mirror no longer keeps what the card built on.
    expect(git(mirrorPath(), 'for-each-ref', '--format=%(refname)', 'refs/ouija/')).toBe('');
    await workspaces.cleanup({ cardKey: key, path: ws.path }); // already gone: no error

    const again = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    expect(again).toEqual({ path: ws.path, branch, baseSha: mainSha, remoteSha: headSha });
    expect(readFileSync(path.join(again.path, 'kept.txt'), 'utf8')).toBe('kept\n');
    expect(await workspaces.inspect({ path: again.path, baseSha: again.baseSha })).toMatchObject({ commits: 1, filesChanged: ['kept.txt'] });
  });

  it('refuses paths that are not the card worktree under the root', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    const outside = path.join(dir, 'precious');
    mkdirSync(outside);
    const other = card('c2');

    for (const target of [outside, path.join(root, 'worktrees', '..', 'mirrors'), root, ws.path]) {
      await expect(workspaces.cleanup({ cardKey: other.key, path: target })).rejects.toBeInstanceOf(UnsafeGitInputError);
    }
    await expect(workspaces.cleanup({ cardKey: 'not a key', path: ws.path })).rejects.toBeInstanceOf(UnsafeGitInputError);
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(ws.path)).toBe(true);
    expect(existsSync(mirrorPath())).toBe(true);
  });
});

describe('fewer git processes on the hot path (issue 6)', () => {
  it('commitAndInspect equals commitAll then inspect, and head is HEAD', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    expect(await workspaces.head({ path: ws.path })).toBe(mainSha);
    // Nothing done yet: HEAD is the base, nothing to commit.
    expect(await workspaces.commitAndInspect({ path: ws.path, message: 'none', baseSha: ws.baseSha })).toEqual({
      committed: false,
      headSha: mainSha,
      commits: 0,
      filesChanged: [],
    });

    // The agent commits one file itself and leaves another uncommitted.
    writeFileSync(path.join(ws.path, 'agent.txt'), 'by the agent\n');
    git(ws.path, 'add', 'agent.txt');
    git(ws.path, 'commit', '--quiet', '-m', 'agent commit');
    writeFileSync(path.join(ws.path, 'left.txt'), 'left over\n');

    const after = await workspaces.commitAndInspect({ path: ws.path, message: 'step: left over', baseSha: ws.baseSha });
    const head = git(ws.path, 'rev-parse', 'HEAD');
    expect(after).toEqual({ committed: true, headSha: head, commits: 2, filesChanged: ['agent.txt', 'left.txt'] });
    expect(git(ws.path, 'log', '-1', '--format=%an|%s')).toBe('Ouija|step: left over');
    expect(await workspaces.head({ path: ws.path })).toBe(head);
    expect(await workspaces.inspect({ path: ws.path, baseSha: ws.baseSha })).toEqual({ headSha: head, commits: 2, filesChanged: ['agent.txt', 'left.txt'] });
  });

  it('commitAndInspect and head refuse a worktree whose config would run programs', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    const marker = path.join(dir, 'filter-ran');
    git(ws.path, 'config', 'filter.evil.clean', `sh -c 'touch ${marker}; cat'`);
    writeFileSync(path.join(ws.path, '.gitattributes'), '* filter=evil\n');

    await expect(workspaces.commitAndInspect({ path: ws.path, message: 'y', baseSha: ws.baseSha })).rejects.toBeInstanceOf(UnsafeRepositoryConfigError);
    await expect(workspaces.head({ path: ws.path })).rejects.toBeInstanceOf(UnsafeRepositoryConfigError);
    expect(existsSync(marker)).toBe(false);
  });

  it('recreates a worktree deleted behind git’s back (its stale registration is pruned on demand)', async () => {
    const { key, branch } = card('c1');
    const first = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    rmSync(first.path, { recursive: true, force: true });
    // Control: git still holds the path and the branch for the deleted worktree, so a bare `worktree add` fails.
    expect(git(cardRepo(first.path), 'worktree', 'list', '--porcelain')).toContain(`branch refs/heads/${branch}`);

    const second = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(second).toEqual(first);
    expect(git(second.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${branch}`);
    expect(git(cardRepo(first.path), 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(2);
  });

  it('looks up the card and base branches by their exact names', async () => {
    const { key, branch } = card('c1');
    const release = pushFromElsewhere('release/2.0', 'r.txt');

    await expect(workspaces.prepare({ cardKey: key, repo: remote, branch, baseBranch: 'release' })).rejects.toThrow(/base branch release not found/);
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch, baseBranch: 'release/2.0' });
    expect(ws).toMatchObject({ baseSha: release, remoteSha: null });
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(release);
  });
});

describe("each card's own repository", () => {
  it("borrows the mirror's objects and holds the card's branch only; the mirror holds no card branch", async () => {
    const [a, b] = [card('c1'), card('c2')];
    const wsA = await workspaces.prepare({ cardKey: a.key, repo: remote, branch: a.branch });
    const wsB = await workspaces.prepare({ cardKey: b.key, repo: remote, branch: b.branch });
    writeFileSync(path.join(wsA.path, 'a.txt'), 'a\n');
    const { headSha } = await workspaces.commitAll({ path: wsA.path, message: 'a' });

    expect(readFileSync(path.join(cardRepo(wsA.path), 'objects', 'info', 'alternates'), 'utf8')).toBe(`${path.join(mirrorPath(), 'objects')}\n`);
    expect(git(cardRepo(wsA.path), 'for-each-ref', '--format=%(refname)')).toBe(`refs/heads/${a.branch}`);
    expect(git(cardRepo(wsB.path), 'for-each-ref', '--format=%(refname)')).toBe(`refs/heads/${b.branch}`);
    // Card A's commit is in A's object store, not in the mirror's nor in B's.
    expect(() => git(cardRepo(wsB.path), 'cat-file', '-e', headSha)).toThrow();
    expect(() => git(mirrorPath(), 'cat-file', '-e', headSha)).toThrow();
    expect(git(mirrorPath(), 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('');
    // What each card builds on stays reachable in the mirror.
    expect(git(mirrorPath(), 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/ouija/cards/').split('\n').sort()).toEqual(
      [`refs/ouija/cards/${path.basename(wsA.path)} ${mainSha}`, `refs/ouija/cards/${path.basename(wsB.path)} ${mainSha}`].sort(),
    );
  });

  it('hands the pushed commits to the mirror, so the card survives a gc of the mirror after its remote branch is deleted', async () => {
    const { key, branch } = card('c1');
    const ws = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    writeFileSync(path.join(ws.path, 'kept.txt'), 'kept\n');
    const { headSha } = await workspaces.commitAll({ path: ws.path, message: 'keep' });
    await workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: null });
    expect(git(mirrorPath(), 'rev-parse', `refs/remotes/origin/${branch}`, `refs/ouija/cards/${path.basename(ws.path)}`)).toBe(`${headSha}\n${headSha}`);
    // The remote branch goes (merged and deleted, say); the next prepare forgets its tracking ref.
    git(remote, 'update-ref', '-d', `refs/heads/${branch}`);
    await workspaces.prepare({ cardKey: key, repo: remote, branch });
    git(mirrorPath(), 'gc', '--quiet', '--prune=now');

    expect(git(ws.path, 'fsck', '--no-dangling')).toBe('');
    expect(git(ws.path, 'rev-parse', 'HEAD')).toBe(headSha);
    expect(git(ws.path, 'log', '--format=%s')).toBe('keep\ninitial');
  });

  it('refuses a worktree whose repository borrows from elsewhere, or whose admin directory points at another repository', async () => {
    const [a, b] = [card('c1'), card('c2')];
    const wsA = await workspaces.prepare({ cardKey: a.key, repo: remote, branch: a.branch });
    const wsB = await workspaces.prepare({ cardKey: b.key, repo: remote, branch: b.branch });
    const alternates = path.join(cardRepo(wsA.path), 'objects', 'info', 'alternates');
    writeFileSync(alternates, `${path.join(cardRepo(wsB.path), 'objects')}\n`);
    await expect(workspaces.commitAll({ path: wsA.path, message: 'x' })).rejects.toBeInstanceOf(UnsafeGitInputError);
    writeFileSync(alternates, `${path.join(mirrorPath(), 'objects')}\n`);
    await expect(workspaces.head({ path: wsA.path })).resolves.toBe(mainSha);

    // A's admin directory names B's repository as the one it belongs to: host git would commit into B's.
    const adminDir = path.join(cardRepo(wsA.path), 'worktrees', path.basename(wsA.path));
    writeFileSync(path.join(adminDir, 'commondir'), `${cardRepo(wsB.path)}\n`);
    await expect(workspaces.commitAll({ path: wsA.path, message: 'x' })).rejects.toBeInstanceOf(UnsafeGitInputError);
    // .git pointing at B's worktree admin dir (a real one, linking back elsewhere) is refused too.
    writeFileSync(path.join(wsA.path, '.git'), `gitdir: ${path.join(cardRepo(wsB.path), 'worktrees', path.basename(wsB.path))}\n`);
    await expect(workspaces.commitAll({ path: wsA.path, message: 'x' })).rejects.toBeInstanceOf(UnsafeGitInputError);
    expect(git(cardRepo(wsB.path), 'rev-parse', `refs/heads/${b.branch}`)).toBe(mainSha);
  });

  it('moves a worktree of the old layout (linked to the mirror) into its card repository, keeping uncommitted work and commits', async () => {
    const { key, branch } = card('c1');
    // Make the path Ouija uses for the card, then put an old-layout worktree there by hand.
    const made = await workspaces.prepare({ cardKey: key, repo: remote, branch });
    await workspaces.cleanup({ cardKey: key, path: made.path });
    git(mirrorPath(), 'worktree', 'add', '--quiet', '-b', branch, '--', made.path, mainSha);
    writeFileSync(path.join(made.path, 'unpushed.txt'), 'committed, not pushed\n');
    git(made.path, 'add', 'unpushed.txt');
    git(made.path, 'commit', '--quiet', '-m', 'unpushed');
    const unpushed = git(made.path, 'rev-parse', 'HEAD');
    writeFileSync(path.join(made.path, 'wip.txt'), 'not committed\n');
    writeFileSync(path.join(made.path, 'README.md'), 'changed\n');

    const again = await workspaces.prepare({ cardKey: key, repo: remote, branch });

    expect(again).toEqual({ path: made.path, branch, baseSha: mainSha, remoteSha: null });
    expect(readFileSync(path.join(made.path, '.git'), 'utf8')).toBe(`gitdir: ${path.join(cardRepo(made.path), 'worktrees', path.basename(made.path))}\n`);
    expect(git(made.path, 'rev-parse', 'HEAD')).toBe(unpushed);
    expect(git(made.path, 'status', '--porcelain')).toBe('M README.md\n?? wip.txt');
    // The mirror keeps neither the branch nor the worktree's registration.
    expect(git(mirrorPath(), 'for-each-ref', '--format=%(refname)', 'refs/heads/')).toBe('');
    expect(git(mirrorPath(), 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
    const { committed, headSha } = await workspaces.commitAll({ path: made.path, message: 'rest' });
    expect(committed).toBe(true);
    await workspaces.push({ path: made.path, repo: remote, branch, expectedRemoteSha: null });
    expect(remoteSha(branch)).toBe(headSha);
  });
});
