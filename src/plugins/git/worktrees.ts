/**
 * Card workspaces: one git worktree per card at `<root>/worktrees/<card dir>` (`<card dir>` from the card key),
 * checked out from the card's own repository `<root>/cards/<card dir>.git`. That bare repository holds the card's
 * branch (and its parallel steps' branches) and nothing else; it borrows the objects of the remote's mirror
 * (`<root>/mirrors/<fingerprint>.git`, see mirrors.ts) read-only through `objects/info/alternates`, so a card
 * costs no copy of the repository, and its commits go into its own object store. An agent sandboxed in the
 * worktree (src/plugins/agent/sandbox.ts) can therefore write its own branch and nothing of another card's or
 * of the mirror. The mirror keeps what each card's repository borrows reachable (`refs/ouija/cards/<card dir>`,
 * moved forward at each new start, fast-forward and push), so no gc of the mirror can prune it; cleanup drops it.
 *
 * Activities run at least once, so every method is idempotent: a second prepare reuses the worktree, a second
 * commit finds nothing to commit, a second push finds the remote already at our HEAD, a second cleanup finds
 * nothing to remove. Every operation that runs git in a card's repository holds its mirror's lock.
 *
 * Worktrees made before per-card repositories (linked to the mirror itself) are moved into their card's
 * repository the first time they are opened: index, uncommitted work and unpushed commits come along.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { InvalidCardRefError, fingerprint, isSafeBranchName, parseCardKey, slugify } from '../../core/cards';
import { STEP_NAME } from '../../core/state';
import type { Workspace } from '../../core/types';
import { log } from '../../log';
import { assertSafeRepositoryConfig } from './config-guard';
import { BranchDivergedError, GitCommandError, LeaseRejectedError, MergeConflictError, UnsafeGitInputError } from './errors';
import { assertSafeBaseBranch, assertSafeBranch, assertSha, commitsAt, gitTest, revParse } from './hardened-git';
import { forgetCard, lendToCard, lsRemoteBranches, type Mirror, MirrorCache } from './mirrors';
import { parseRemote } from './remotes';

export interface PrepareInput {
  cardKey: string;
  repo: string;
  branch: string;
  /** Where a new branch starts; undefined = the remote's default branch. */
  baseBranch?: string;
  /**
   * Make the worktree anew from the remote branch (or the base), discarding whatever this host kept of the card: a
   * run's start, or a card that moved here from a lost host. Default: reuse a healthy worktree with its uncommitted work.
   */
  fresh?: boolean;
}

/** Git settings that carry a secret (an https auth header, see `githubHttpAuth`): passed to git by environment. */
export type SecretGitConfig = Readonly<Record<string, string>>;

export interface PushInput {
  path: string;
  repo: string;
  branch: string;
  expectedRemoteSha: string | null;
  /** For remotes that need credentials (GitHub over https); never reaches argv. */
  secretConfig?: SecretGitConfig;
}

export interface Workspaces {
  prepare(input: PrepareInput): Promise<Workspace>;
  commitAll(input: { path: string; message: string }): Promise<{ committed: boolean; headSha: string }>;
  inspect(input: { path: string; baseSha: string }): Promise<{ headSha: string; commits: number; filesChanged: string[] }>;
  /** commitAll, then inspect, with one check of the worktree (fewer git processes after every agent step). */
  commitAndInspect(input: { path: string; message: string; baseSha: string }): Promise<{ committed: boolean; headSha: string; commits: number; filesChanged: string[] }>;
  /** The worktree's HEAD commit. */
  head(input: { path: string }): Promise<string>;
  push(input: PushInput): Promise<{ remoteSha: string }>;
  /** Removes the card's worktree, its branch and any parallel steps' worktrees and branches. */
  cleanup(input: { cardKey: string; path: string }): Promise<void>;
  /** A worktree per parallel step, each on a local branch `<card branch>--<step>` at the card worktree's HEAD. */
  prepareMembers(input: { cardKey: string; path: string; steps: string[] }): Promise<Record<string, Workspace>>;
  /**
   * Merges the named steps' branches into the card's worktree in the order given (a conflict aborts the merge
   * and throws MergeConflictError), then removes the worktrees and branches of `merge` and `discard`.
   */
  mergeMembers(input: { cardKey: string; path: string; merge: string[]; discard: string[] }): Promise<{ headSha: string; merged: string[] }>;
  remoteBranchSha(input: { repo: string; branch: string; secretConfig?: SecretGitConfig }): Promise<string | null>;
}

export function createWorkspaces({ root }: { root: string }): Workspaces {
  mkdirSync(root, { recursive: true });
  // Canonical root: every path check below compares strings, and git reports real paths.
  return new GitWorkspaces(realpathSync(root));
}

/** Joins a card's worktree directory or branch and a parallel step's name. */
const MEMBER_SEPARATOR = '--';

/** Written into a worktree's admin directory once its checkout is complete; absent = broken. */
const READY_MARKER = 'ouija-ready';

const logger = log.child({ plugin: 'git' });

/** A worktree path that passed the checks of `openWorktree`. */
interface OpenWorktree {
  git: SimpleGit;
  /** The card's repository, and the mirror whose objects it borrows. */
  repoPath: string;
  mirrorPath: string;
}

/** What a worktree's `.git` link leads to, checked (see readLink). */
interface WorktreeLink {
  adminDir: string;
  repoPath: string;
  mirrorPath: string;
}

class GitWorkspaces implements Workspaces {
  private readonly mirrors: MirrorCache;
  private readonly worktreesDir: string;
  private readonly cardsDir: string;

  constructor(private readonly root: string) {
    this.mirrors = new MirrorCache(root);
    this.worktreesDir = path.join(root, 'worktrees');
    this.cardsDir = path.join(root, 'cards');
  }

  async prepare({ cardKey, repo, branch, baseBranch, fresh = false }: PrepareInput): Promise<Workspace> {
    assertSafeBranch(branch);
    if (baseBranch !== undefined) assertSafeBaseBranch(baseBranch);
    const remote = parseRemote(repo);
    const worktree = this.worktreePath(cardKey);
    // Before taking the mirror's lock: it only reads the remote, and on a real network it is most of the wait.
    const remoteNow = await lsRemoteBranches(this.mirrors.gitIn(this.root), remote.url, baseBranch === undefined ? [branch] : [branch, baseBranch], baseBranch === undefined);
    const base = baseBranch ?? remoteNow.defaultBranch;
    if (!base) throw new Error(`remote ${remote.url} has no default branch; set baseBranch on the card`);
    return this.mirrors.withMirror(remote, async (mirror) => {
      // At least as new as the remote was when this prepare began (see Mirror.track).
      const tips = await mirror.track(remoteNow.tips);
      const remoteSha = tips.get(branch) ?? null;
      const baseTip = tips.get(base) ?? null;
      if (!baseTip) throw new Error(`base branch ${base} not found on ${remote.url}`);
      await this.migrateLegacy(worktree, mirror.path);
      const repo = await this.cardRepository(worktree, mirror.path);
      // Fresh: whatever this host kept of the card is discarded, the worktree made anew from the remote.
      const reused = fresh ? null : await this.reuse(worktree, mirror, branch, remoteSha);
      const head = reused?.head ?? (await this.create(worktree, repo, branch, remoteSha ?? baseTip));
      // What the card's repository now has from the mirror: a new start or a fast-forward.
      if (!reused || reused.movedTo) await mirror.lend(cardDirOf(worktree), head);
      // Unrelated histories have no merge base: count from where the workspace started.
      const baseSha = head === baseTip ? head : ((await mergeBase(repo, baseTip, head)) ?? head);
      return { path: worktree, branch, baseSha, remoteSha };
    });
  }

  async commitAll({ path: worktree, message }: { path: string; message: string }) {
    if (!message.trim()) throw new UnsafeGitInputError('commit message is empty');
    const { git } = await this.openWorktree(worktree);
    const committed = await commitEverything(git, message);
    return { committed, headSha: await headOf(git) };
  }

  async inspect({ path: worktree, baseSha }: { path: string; baseSha: string }) {
    assertSha(baseSha, 'baseSha');
    const { git } = await this.openWorktree(worktree);
    return inspectFrom(git, baseSha);
  }

  async commitAndInspect({ path: worktree, message, baseSha }: { path: string; message: string; baseSha: string }) {
    if (!message.trim()) throw new UnsafeGitInputError('commit message is empty');
    assertSha(baseSha, 'baseSha');
    // One check of the worktree and its config for both: nothing runs in the worktree between them.
    const { git } = await this.openWorktree(worktree);
    const committed = await commitEverything(git, message);
    return { committed, ...(await inspectFrom(git, baseSha)) };
  }

  async head({ path: worktree }: { path: string }) {
    const { git } = await this.openWorktree(worktree);
    return headOf(git);
  }

  async push({ path: worktree, repo, branch, expectedRemoteSha, secretConfig }: PushInput) {
    assertSafeBranch(branch);
    if (expectedRemoteSha !== null) assertSha(expectedRemoteSha, 'expectedRemoteSha');
    const remote = parseRemote(repo);
    const { git, repoPath, mirrorPath } = await this.openWorktree(worktree);
    if (mirrorPath !== this.mirrors.pathFor(remote)) {
      throw new UnsafeGitInputError(`worktree ${worktree} is not a checkout of ${remote.url}`);
    }
    const headSha = await headOf(git);
    const ref = `refs/heads/${branch}`;
    try {
      // An empty lease value means "the branch must not exist yet".
      const lease = `--force-with-lease=${ref}:${expectedRemoteSha ?? ''}`;
      const pushGit = secretConfig ? this.mirrors.gitIn(path.resolve(worktree), secretConfig) : git;
      await pushGit.raw(['push', '--quiet', '--no-verify', lease, '--', remote.url, `${headSha}:${ref}`]);
    } catch (err) {
      // Decide by where the remote is now, not by parsing git's message.
      const actual = await this.remoteBranchSha({ repo, branch, secretConfig }).catch(() => {
        throw err;
      });
      if (actual !== headSha) {
        if (actual !== expectedRemoteSha) throw new LeaseRejectedError(branch, expectedRemoteSha, actual);
        throw err;
      }
      // Already there: an earlier attempt of this push succeeded.
    }
    // The mirror takes the pushed commits from the card's repository: the next prepare finds the remote where
    // the mirror is (no fetch), and what the card builds on stays reachable in the mirror.
    await this.mirrors.withMirror(remote, (mirror) => mirror.takeFromCard(repoPath, cardDirOf(worktree), branch, headSha));
    return { remoteSha: headSha };
  }

  async cleanup({ cardKey, path: worktree }: { cardKey: string; path: string }): Promise<void> {
    const expected = this.worktreePath(cardKey);
    if (path.resolve(worktree) !== expected) {
      throw new UnsafeGitInputError(`refusing to remove ${worktree}: the worktree of ${cardKey} is ${expected}`);
    }
    // Every mirror is asked to forget the card (a half-deleted repository may no longer say which it borrows
    // from), and its worktrees (its steps' too) and repository are removed under the lock of each.
    for (const mirrorPath of await this.mirrors.list()) {
      await this.mirrors.withLock(mirrorPath, async () => {
        await this.removeCard(expected);
        const git = this.mirrors.gitIn(mirrorPath);
        await forgetCard(git, cardDirOf(expected));
        // Worktrees of the layout before per-card repositories, registered in the mirror itself.
        if (await exists(path.join(mirrorPath, 'worktrees'))) {
          const ours = (candidate: string) => candidate === expected || candidate.startsWith(`${expected}${MEMBER_SEPARATOR}`);
          await removeWorktrees(git, (await listWorktrees(git)).filter((entry) => ours(entry.path)));
        }
      });
    }
    await this.removeCard(expected);
  }

  async prepareMembers({ cardKey, path: worktree, steps }: { cardKey: string; path: string; steps: string[] }) {
    const { git, repoPath, mirrorPath, branch } = await this.openCardWorktree(cardKey, worktree);
    const head = await headOf(git);
    return this.mirrors.withLock(mirrorPath, async () => {
      const repoGit = this.mirrors.gitIn(repoPath);
      const members = steps.map((step) => ({ step, ...this.memberOf(cardKey, branch, step) }));
      // Made anew on every attempt: no agent has touched a member worktree before its group's agents start.
      // Side by side (distinct paths, admin dirs and branches; `worktree add` locks its entry while it works);
      // any that failed are made again one at a time, pruning first, once the others are done.
      const added = await Promise.allSettled(members.map((m) => this.addWorktree(m.path, repoGit, m.branch, head)));
      for (const [i, result] of added.entries()) {
        if (result.status === 'rejected') await this.create(members[i]!.path, repoGit, members[i]!.branch, head);
      }
      const workspaces: Record<string, Workspace> = {};
      for (const m of members) workspaces[m.step] = { path: m.path, branch: m.branch, baseSha: head, remoteSha: null, member: m.step };
      return workspaces;
    });
  }

  async mergeMembers({ cardKey, path: worktree, merge, discard }: { cardKey: string; path: string; merge: string[]; discard: string[] }) {
    const { git, repoPath, mirrorPath, branch } = await this.openCardWorktree(cardKey, worktree);
    const merged: string[] = [];
    const tips = await commitsAt(git, merge.map((step) => `refs/heads/${this.memberOf(cardKey, branch, step).branch}`));
    for (const step of merge) {
      const member = this.memberOf(cardKey, branch, step);
      const tip = tips.get(`refs/heads/${member.branch}`) ?? null;
      // Merged by an earlier attempt (its worktree may be gone already): nothing to do.
      if (!tip || (await isAncestor(git, tip, 'HEAD'))) continue;
      try {
        await git.raw(['merge', '--quiet', '--no-ff', '--no-edit', '--no-verify', `--message=Merge parallel step ${step}`, tip]);
        merged.push(step);
      } catch (err) {
        const conflicted = (await git.raw(['diff', '--name-only', '--diff-filter=U', '-z']).catch(() => '')).split('\0').filter(Boolean);
        await git.raw(['merge', '--abort']).catch(() => undefined);
        if (conflicted.length === 0) throw err;
        throw new MergeConflictError(`parallel step ${step} conflicts with the steps merged before it in: ${conflicted.join(', ')}`);
      }
    }
    await this.mirrors.withLock(mirrorPath, async () => {
      // The members' paths and branches are known by construction: no need to ask git for its list. A member
      // removed by an earlier attempt leaves nothing to delete (rm -f, and only branches that exist go).
      const members = [...merge, ...discard].map((step) => this.memberOf(cardKey, branch, step));
      await removeWorktrees(this.mirrors.gitIn(repoPath), members);
    });
    return { headSha: await headOf(git), merged };
  }

  /** The card's own worktree (not a member's), checked, with its branch. */
  private async openCardWorktree(cardKey: string, worktree: string): Promise<OpenWorktree & { branch: string }> {
    const expected = this.worktreePath(cardKey);
    if (path.resolve(worktree) !== expected) throw new UnsafeGitInputError(`${worktree} is not the worktree of ${cardKey} (${expected})`);
    const opened = await this.openWorktree(expected);
    const ref = (await opened.git.raw(['symbolic-ref', '--quiet', 'HEAD']).catch(() => '')).trim();
    const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : '';
    assertSafeBranch(branch);
    return { ...opened, branch };
  }

  /**
   * A parallel step's worktree (beside the card's: `<card dir>--<step>`) and local branch
   * (`ouija/parallel-<fingerprint of card branch and step>-<step>`: bounded in length, never pushed).
   */
  private memberOf(cardKey: string, cardBranch: string, step: string): { path: string; branch: string } {
    if (!STEP_NAME.test(step)) throw new UnsafeGitInputError(`bad step name ${JSON.stringify(step)}`);
    const branch = `ouija/parallel-${fingerprint(`${cardBranch}\0${step}`)}-${slugify(step, 40)}`;
    assertSafeBranch(branch);
    return { path: `${this.worktreePath(cardKey)}${MEMBER_SEPARATOR}${step}`, branch };
  }

  async remoteBranchSha({ repo, branch, secretConfig }: { repo: string; branch: string; secretConfig?: SecretGitConfig }): Promise<string | null> {
    assertSafeBranch(branch);
    const remote = parseRemote(repo);
    const { tips } = await lsRemoteBranches(this.mirrors.gitIn(this.root, secretConfig), remote.url, [branch], false);
    return tips.get(branch) ?? null;
  }

  /** `<root>/worktrees/<slug>-<hash>`: readable, and distinct even for keys that slug alike. */
  private worktreePath(cardKey: string): string {
    try {
      parseCardKey(cardKey);
    } catch (err) {
      if (err instanceof InvalidCardRefError) throw new UnsafeGitInputError(err.message);
      throw err;
    }
    const hash = createHash('sha256').update(cardKey).digest('hex').slice(0, 12);
    return path.join(this.worktreesDir, `${slugify(cardKey, 60)}-${hash}`);
  }

  /**
   * The checks before host git runs in a worktree: the path is one of ours, its `.git` link (which the agent
   * could rewrite to point git at a repository of its choosing) leads into its card's repository, which borrows
   * from one of our mirrors, and neither that repository's nor the worktree's config asks git to run programs.
   */
  private async openWorktree(worktree: string): Promise<OpenWorktree> {
    const resolved = path.resolve(worktree);
    if (path.dirname(resolved) !== this.worktreesDir) {
      throw new UnsafeGitInputError(`${worktree} is not a worktree under ${this.worktreesDir}`);
    }
    if (!(await fs.lstat(resolved)).isDirectory()) throw new UnsafeGitInputError(`${worktree} is not a directory`);
    const legacyMirror = await this.legacyMirrorOf(resolved);
    if (legacyMirror !== null) await this.mirrors.withLock(legacyMirror, () => this.migrateLegacy(resolved, legacyMirror));
    const { repoPath, mirrorPath } = await this.readLink(resolved);
    const git = this.mirrors.gitIn(resolved);
    await assertSafeRepositoryConfig(git, resolved);
    return { git, repoPath, mirrorPath };
  }

  /**
   * Where the worktree's `.git` file points, or it throws: `<root>/cards/<card dir>.git/worktrees/<name>` of
   * this worktree's own card, whose `commondir` is the standard `../..`, in a repository that borrows the
   * objects of one of our mirrors and of nothing else.
   */
  private async readLink(worktree: string): Promise<WorktreeLink> {
    const dotGit = path.join(worktree, '.git');
    if (!(await fs.lstat(dotGit)).isFile()) throw new UnsafeGitInputError(`${dotGit} is not a worktree link file`);
    const target = /^gitdir: (.+?)\r?\n?$/.exec(await fs.readFile(dotGit, 'utf8'))?.[1];
    const adminDir = target ? path.resolve(worktree, target) : '';
    const repoPath = path.dirname(path.dirname(adminDir));
    if (!target || path.basename(path.dirname(adminDir)) !== 'worktrees' || repoPath !== this.cardRepoPath(worktree)) {
      throw new UnsafeGitInputError(`${dotGit} does not point into the repository of its card under ${this.cardsDir}`);
    }
    if ((await readIfFile(path.join(adminDir, 'commondir')))?.trim() !== '../..') {
      throw new UnsafeGitInputError(`${adminDir}/commondir does not name the repository that holds it`);
    }
    const mirrorPath = await this.borrowedMirror(repoPath);
    if (mirrorPath === null) throw new UnsafeGitInputError(`${repoPath} does not borrow the objects of a mirror under ${this.root} (and only those)`);
    return { adminDir, repoPath, mirrorPath };
  }

  /** The mirror whose objects `repoPath` borrows: its alternates name exactly one mirror's objects. */
  private async borrowedMirror(repoPath: string): Promise<string | null> {
    const lines = (await readIfFile(path.join(repoPath, 'objects', 'info', 'alternates')))?.split('\n').filter((line) => line.trim() !== '');
    if (lines?.length !== 1) return null;
    const objects = lines[0]!;
    const mirrorPath = path.dirname(objects);
    return path.isAbsolute(objects) && path.basename(objects) === 'objects' && this.mirrors.isMirrorPath(mirrorPath) ? mirrorPath : null;
  }

  /** `<root>/cards/<card dir>.git`: the repository of the card whose worktree (or step's worktree) this is. */
  private cardRepoPath(worktree: string): string {
    return path.join(this.cardsDir, `${cardDirOf(worktree)}.git`);
  }

  /**
   * The card's repository, borrowing `mirrorPath`'s objects: made when missing (atomically: init in a temporary
   * directory, then rename), made anew (its worktrees with it) when it borrows from elsewhere or is broken.
   * The caller holds the mirror's lock.
   */
  private async cardRepository(worktree: string, mirrorPath: string): Promise<SimpleGit> {
    const repoPath = this.cardRepoPath(worktree);
    if (await exists(repoPath)) {
      if ((await this.borrowedMirror(repoPath)) === mirrorPath) {
        const git = this.mirrors.gitIn(repoPath);
        await assertSafeRepositoryConfig(git, repoPath);
        return git;
      }
      logger.warn({ repo: repoPath, mirror: mirrorPath }, "recreating a card's repository that does not borrow from its mirror");
      await this.removeCard(worktree);
    }
    await fs.mkdir(this.cardsDir, { recursive: true });
    const temporary = path.join(this.cardsDir, `.tmp-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(temporary);
    try {
      await this.mirrors.gitIn(temporary).raw(['init', '--bare', '--quiet']);
      await fs.mkdir(path.join(temporary, 'objects', 'info'), { recursive: true });
      await fs.writeFile(path.join(temporary, 'objects', 'info', 'alternates'), `${path.join(mirrorPath, 'objects')}\n`);
      await fs.rename(temporary, repoPath);
    } finally {
      await fs.rm(temporary, { recursive: true, force: true });
    }
    return this.mirrors.gitIn(repoPath);
  }

  /** Removes the card's worktree, its steps' worktrees and its repository (what is left of them). */
  private async removeCard(worktree: string): Promise<void> {
    const expected = path.join(this.worktreesDir, cardDirOf(worktree));
    const names = await fs.readdir(this.worktreesDir).catch(() => [] as string[]);
    const ours = names.map((name) => path.join(this.worktreesDir, name)).filter((dir) => dir === expected || dir.startsWith(`${expected}${MEMBER_SEPARATOR}`));
    await Promise.all([...ours, this.cardRepoPath(worktree)].map((dir) => fs.rm(dir, { recursive: true, force: true })));
  }

  /**
   * The HEAD to keep when the worktree is healthy and on `branch` (uncommitted work stays), brought up to the
   * remote branch when that moved ahead (someone pushed to the review branch: `movedTo`); null when it must be
   * made anew.
   */
  private async reuse(worktree: string, mirror: Mirror, branch: string, remoteSha: string | null): Promise<{ head: string; movedTo?: string } | null> {
    const problem = await this.healthProblem(worktree, mirror, branch);
    if (problem) {
      if (problem !== 'missing') logger.warn({ worktree, problem }, 'recreating broken worktree');
      return null;
    }
    const { git } = await this.openWorktree(worktree);
    const head = await headOf(git);
    if (remoteSha === null || remoteSha === head || (await isAncestor(git, remoteSha, head))) return { head };
    if (await isAncestor(git, head, remoteSha)) {
      // --keep: moves to the remote's commits but refuses to overwrite uncommitted changes.
      await git.raw(['reset', '--quiet', '--keep', remoteSha]);
      return { head: remoteSha, movedTo: remoteSha };
    }
    throw new BranchDivergedError(`worktree ${worktree} (at ${head}) and the remote ${branch} (at ${remoteSha}) have diverged`);
  }

  /** Why the worktree cannot be reused, or null when it can. */
  private async healthProblem(worktree: string, mirror: Mirror, branch: string): Promise<string | null> {
    try {
      const stat = await fs.lstat(worktree).catch(() => null);
      if (!stat) return 'missing';
      if (!stat.isDirectory()) return 'not a directory';
      const { adminDir, mirrorPath } = await this.readLink(worktree);
      if (mirrorPath !== mirror.path) return `borrows from mirror ${mirrorPath}`;
      if (!(await fs.lstat(path.join(adminDir, READY_MARKER)).catch(() => null))) return 'checkout never completed';
      const git = this.mirrors.gitIn(worktree);
      const topLevel = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
      if (topLevel !== worktree) return `git sees the top level at ${topLevel}`;
      const current = (await git.raw(['symbolic-ref', '--quiet', 'HEAD']).catch(() => '')).trim();
      if (current !== `refs/heads/${branch}`) return `on ${current || 'a detached HEAD'}, not ${branch}`;
      return null;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** (Re)creates the worktree on `branch` at `start` in the card's repository; the caller holds the mirror's lock. */
  private async create(worktree: string, repoGit: SimpleGit, branch: string, start: string): Promise<string> {
    try {
      return await this.addWorktree(worktree, repoGit, branch, start);
    } catch {
      // A stale registration (a worktree deleted behind git's back still holds its path or the branch) makes
      // `worktree add` refuse: prune the records of missing worktrees and try once more. Pruning only then
      // saves a git process per worktree on the common path.
      await repoGit.raw(['worktree', 'prune']);
      return this.addWorktree(worktree, repoGit, branch, start);
    }
  }

  /** One `worktree add` on a clean directory; the caller holds the mirror's lock. */
  private async addWorktree(worktree: string, repoGit: SimpleGit, branch: string, start: string): Promise<string> {
    // `worktree` is built by worktreePath, so this never reaches outside <root>/worktrees.
    await fs.rm(worktree, { recursive: true, force: true });
    await fs.mkdir(this.worktreesDir, { recursive: true });
    await repoGit.raw(['worktree', 'add', '--quiet', '-B', branch, '--', worktree, start]);
    const { adminDir } = await this.readLink(worktree);
    await fs.writeFile(path.join(adminDir, READY_MARKER), `${new Date().toISOString()}\n`);
    return start;
  }

  /**
   * The mirror a worktree of the layout before per-card repositories is linked to (its `.git` names
   * `<mirror>/worktrees/<name>`, which links back), or null when it is not one.
   */
  private async legacyMirrorOf(worktree: string): Promise<string | null> {
    const link = /^gitdir: (.+?)\r?\n?$/.exec((await readIfFile(path.join(worktree, '.git'))) ?? '')?.[1];
    if (!link) return null;
    const adminDir = path.resolve(worktree, link);
    const mirrorPath = path.dirname(path.dirname(adminDir));
    if (path.basename(path.dirname(adminDir)) !== 'worktrees' || !this.mirrors.isMirrorPath(mirrorPath)) return null;
    const back = (await readIfFile(path.join(adminDir, 'gitdir')))?.trim();
    return back !== undefined && path.resolve(adminDir, back) === path.join(worktree, '.git') ? mirrorPath : null;
  }

  /**
   * Moves a worktree of the old layout (and its steps' worktrees) linked to `mirrorPath` into the card's own
   * repository, in place: the branch is copied into that repository, a new admin directory gets the old one's
   * index and the worktree's `.git` is pointed at it, so uncommitted work and unpushed commits are kept. The
   * caller holds the mirror's lock; a worktree that is no longer of the old layout is left alone.
   */
  private async migrateLegacy(worktree: string, mirrorPath: string): Promise<void> {
    const card = path.join(this.worktreesDir, cardDirOf(worktree));
    const names = await fs.readdir(this.worktreesDir).catch(() => [] as string[]);
    const candidates = names.map((name) => path.join(this.worktreesDir, name)).filter((dir) => dir === card || dir.startsWith(`${card}${MEMBER_SEPARATOR}`));
    let repo: SimpleGit | null = null;
    const mirrorGit = this.mirrors.gitIn(mirrorPath);
    for (const tree of candidates) {
      if ((await this.legacyMirrorOf(tree)) !== mirrorPath) continue;
      const oldAdmin = path.resolve(tree, /^gitdir: (.+?)\r?\n?$/.exec((await readIfFile(path.join(tree, '.git'))) ?? '')![1]!);
      const ref = (await readIfFile(path.join(oldAdmin, 'HEAD')))?.trim() ?? '';
      const branch = ref.startsWith('ref: refs/heads/') ? ref.slice('ref: refs/heads/'.length) : '';
      const tip = isSafeBranchName(branch) ? await revParse(mirrorGit, `refs/heads/${branch}^{commit}`) : null;
      if (!tip) {
        // Not something to keep (a detached or foreign HEAD): prepare makes it anew.
        logger.warn({ worktree: tree }, 'removing an old-layout worktree that is on no card branch');
        await fs.rm(tree, { recursive: true, force: true });
        continue;
      }
      repo ??= await this.cardRepository(card, mirrorPath);
      await repo.raw(['update-ref', `refs/heads/${branch}`, tip]);
      const admin = path.join(this.cardRepoPath(card), 'worktrees', path.basename(tree));
      await fs.rm(admin, { recursive: true, force: true });
      await fs.mkdir(admin, { recursive: true });
      await fs.writeFile(path.join(admin, 'HEAD'), `ref: refs/heads/${branch}\n`);
      await fs.writeFile(path.join(admin, 'commondir'), '../..\n');
      await fs.writeFile(path.join(admin, 'gitdir'), `${path.join(tree, '.git')}\n`);
      await fs.copyFile(path.join(oldAdmin, 'index'), path.join(admin, 'index')).catch(() => undefined);
      await fs.writeFile(path.join(admin, READY_MARKER), `${new Date().toISOString()}\n`);
      const link = path.join(tree, `.git.${randomBytes(4).toString('hex')}`);
      await fs.writeFile(link, `gitdir: ${admin}\n`);
      await fs.rename(link, path.join(tree, '.git'));
      await lendToCard(mirrorGit, cardDirOf(card), tip);
      await fs.rm(oldAdmin, { recursive: true, force: true });
      await mirrorGit.raw(['branch', '--delete', '--force', '--', branch]);
      logger.info({ worktree: tree, branch }, "moved an old-layout worktree into its card's repository");
    }
  }
}

/** `<card dir>` of a card's worktree or of one of its steps' (`<card dir>--<step>`): card dirs never hold `--`. */
function cardDirOf(worktree: string): string {
  return path.basename(worktree).split(MEMBER_SEPARATOR)[0]!;
}

async function readIfFile(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(target: string): Promise<boolean> {
  return fs.lstat(target).then(
    () => true,
    () => false,
  );
}

async function headOf(git: SimpleGit): Promise<string> {
  const sha = await revParse(git, 'HEAD^{commit}');
  if (!sha) throw new Error('worktree has no HEAD commit');
  return sha;
}

/** Stages everything (new files too) and commits it; false when there was nothing to commit. */
async function commitEverything(git: SimpleGit, message: string): Promise<boolean> {
  // Agents are asked to commit their work, so usually nothing is left: one `status` says so (instead of
  // `add` + `diff --cached`). `--ignore-submodules=dirty` shows what `add --all` would stage of a submodule
  // (a moved commit) without running git inside it, whose config the guard has not checked.
  const status = await git.raw(['status', '--porcelain', '-z', '--untracked-files=all', '--ignore-submodules=dirty']);
  if (status === '') return false;
  await git.raw(['add', '--all']);
  const committed = !(await gitTest(git, ['diff', '--cached', '--quiet', '--no-ext-diff']));
  // One argv element: the message can never be read as an option.
  if (committed) await git.raw(['commit', '--quiet', '--no-verify', `--message=${message}`]);
  return committed;
}

/** HEAD, the commits since `baseSha` and the files changed since it (the two reads run side by side). */
async function inspectFrom(git: SimpleGit, baseSha: string): Promise<{ headSha: string; commits: number; filesChanged: string[] }> {
  const headSha = await headOf(git);
  if (headSha === baseSha) return { headSha, commits: 0, filesChanged: [] };
  const [count, diff] = await Promise.all([
    git.raw(['rev-list', '--count', `${baseSha}..${headSha}`]),
    git.raw(['diff', '--name-only', '-z', '--no-renames', '--no-ext-diff', baseSha, headSha, '--']),
  ]);
  return { headSha, commits: Number(count.trim()), filesChanged: diff.split('\0').filter(Boolean) };
}

async function isAncestor(git: SimpleGit, ancestor: string, descendant: string): Promise<boolean> {
  return gitTest(git, ['merge-base', '--is-ancestor', ancestor, descendant]);
}

async function mergeBase(git: SimpleGit, a: string, b: string): Promise<string | null> {
  try {
    return (await git.raw(['merge-base', a, b])).trim() || null;
  } catch (err) {
    if (err instanceof GitCommandError && err.exitCode === 1) return null; // no common ancestor
    throw err;
  }
}

/** Removes worktrees and their branches; the caller holds the mirror's lock. */
async function removeWorktrees(git: SimpleGit, entries: { path: string; branch: string | null }[]): Promise<void> {
  if (entries.length === 0) return;
  await Promise.all(entries.map((entry) => fs.rm(entry.path, { recursive: true, force: true })));
  await git.raw(['worktree', 'prune']);
  const branches = entries.flatMap((entry) => (entry.branch && isSafeBranchName(entry.branch) ? [entry.branch] : []));
  const tips = await commitsAt(git, branches.map((branch) => `refs/heads/${branch}`));
  const existing = branches.filter((branch) => tips.get(`refs/heads/${branch}`));
  // One git process for all of them.
  if (existing.length > 0) await git.raw(['branch', '--delete', '--force', '--', ...existing]);
}

/** `git worktree list --porcelain`: path and branch (without refs/heads/) of each worktree. */
async function listWorktrees(git: SimpleGit): Promise<{ path: string; branch: string | null }[]> {
  const out = await git.raw(['worktree', 'list', '--porcelain']);
  return out
    .split('\n\n')
    .map((block) => {
      const lines = block.split('\n');
      const worktree = lines.find((line) => line.startsWith('worktree '))?.slice('worktree '.length);
      const branch = lines.find((line) => line.startsWith('branch refs/heads/'))?.slice('branch refs/heads/'.length) ?? null;
      return worktree ? { path: worktree, branch } : null;
    })
    .filter((entry): entry is { path: string; branch: string | null } => entry !== null);
}
