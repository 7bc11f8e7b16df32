/**
 * The mirror cache: one bare repository per remote under `<root>/mirrors/<fingerprint>.git`, whose objects every
 * card's own repository on that remote borrows (see worktrees.ts). Fetched refs live under refs/remotes/origin/*;
 * `refs/ouija/cards/<card>` keeps what a card's repository borrows reachable, so no gc of the mirror prunes it.
 *
 * `git init --bare` + fetch instead of `git clone --bare`: a bare clone copies the remote's branches into
 * refs/heads/*, exactly where worktree branches live. A prepare asks the remote for the default branch and the
 * card's branch only (`lsRemoteBranches`) and fetches just those that moved (`Mirror.track`).
 *
 * Operations on one mirror are serialised by an in-process mutex and, across the processes of this host that
 * share the root, by a file lock (`<root>/locks/<fingerprint>.git.lock`, see file-lock.ts).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { assertSafeRepositoryConfig } from './config-guard';
import { withFileLock } from './file-lock';
import { assertSafeBaseBranch, commitsAt, hardenedGit, revParse } from './hardened-git';
import { KeyedMutex } from './keyed-mutex';
import type { Remote } from './remotes';

const TRACKING_PREFIX = 'refs/remotes/origin/';
/** `refs/ouija/cards/<card dir>`: the newest commit of the mirror's that the card's repository builds on. */
const LENT_PREFIX = 'refs/ouija/cards/';
const CARD_DIR = /^[a-z0-9][a-z0-9-]{0,80}$/;

/** Module-wide, so every cache object in this process shares the locks of a mirror path. */
const locks = new KeyedMutex();

export class Mirror {
  constructor(
    readonly path: string,
    readonly remote: Remote,
    readonly git: SimpleGit,
  ) {}

  /**
   * Brings the tracking refs of the advertised branches to what the remote advertised (`lsRemoteBranches`):
   * fetches only the branches that moved, in one process, and forgets those the remote no longer has. Returns
   * their tips as `trackingShas` does. Only these refs: a fetch of every branch costs time in proportion to the
   * remote's branch count (one per card Ouija ever pushed), and it runs under the mirror's lock.
   */
  async track(advertised: ReadonlyMap<string, string | null>): Promise<Map<string, string | null>> {
    const branches = [...advertised.keys()];
    const known = await this.trackingShas(branches);
    const moved = branches.filter((branch) => advertised.get(branch) !== null && known.get(branch) !== advertised.get(branch));
    const gone = branches.filter((branch) => advertised.get(branch) === null && known.get(branch) !== null);
    if (moved.length > 0) {
      await this.git.raw(['fetch', '--no-tags', '--', this.remote.url, ...moved.map((branch) => `+refs/heads/${branch}:${TRACKING_PREFIX}${branch}`)]);
    }
    for (const branch of gone) await this.git.raw(['update-ref', '-d', `${TRACKING_PREFIX}${branch}`]);
    return moved.length + gone.length > 0 ? this.trackingShas(branches) : known;
  }

  /** The commit the remote's `branch` pointed at when last fetched or pushed; null if it has none. */
  async trackingSha(branch: string): Promise<string | null> {
    return revParse(this.git, `${TRACKING_PREFIX}${branch}^{commit}`);
  }

  /**
   * `trackingSha` of several branches with one git process: the commit each remote branch pointed at when last
   * fetched or pushed (null: none). A ref that names a tag is peeled once; anything else that is no commit is null.
   */
  async trackingShas(branches: readonly string[]): Promise<Map<string, string | null>> {
    const tips = await commitsAt(this.git, branches.map((branch) => `${TRACKING_PREFIX}${branch}`));
    return new Map(branches.map((branch) => [branch, tips.get(`${TRACKING_PREFIX}${branch}`) ?? null]));
  }

  async setTrackingSha(branch: string, sha: string): Promise<void> {
    await this.git.raw(['update-ref', `${TRACKING_PREFIX}${branch}`, sha]);
  }

  /**
   * Records that the repository of card `cardDir` builds on `sha` (a commit of this mirror's): its objects stay
   * reachable, whatever the remote's branches do, until `forgetCard`. Each call names a descendant of what the
   * card's repository had from the mirror before (a new start, a fast-forward, a push), so one ref is enough.
   */
  async lend(cardDir: string, sha: string): Promise<void> {
    await lendToCard(this.git, cardDir, sha);
  }

  /**
   * After a push of `branch` at `sha` from the card's repository: copies the commits the mirror lacks from that
   * repository (a local fetch), so the tracking ref and the lent ref can both name `sha`.
   */
  async takeFromCard(cardRepo: string, cardDir: string, branch: string, sha: string): Promise<void> {
    await this.git.raw(['fetch', '--quiet', '--no-tags', '--', cardRepo, `+${sha}:${TRACKING_PREFIX}${branch}`, `+${sha}:${lentRef(cardDir)}`]);
  }
}

/** Mirror.lend for the mirror at `git`. */
export async function lendToCard(git: SimpleGit, cardDir: string, sha: string): Promise<void> {
  await git.raw(['update-ref', lentRef(cardDir), sha]);
}

/** Forgets what the repository of card `cardDir` borrowed from the mirror at `git` (no error when nothing). */
export async function forgetCard(git: SimpleGit, cardDir: string): Promise<void> {
  await git.raw(['update-ref', '-d', lentRef(cardDir)]);
}

function lentRef(cardDir: string): string {
  if (!CARD_DIR.test(cardDir)) throw new Error(`bad card directory name ${JSON.stringify(cardDir)}`);
  return `${LENT_PREFIX}${cardDir}`;
}

/** What the remote has now: the branch its HEAD names (when asked for) and the tip of each named branch. */
export interface RemoteBranches {
  /** Null when not asked for or when the remote's HEAD names no branch. */
  defaultBranch: string | null;
  /** Every branch asked for (and the default branch): its tip, or null when the remote has no such branch. */
  tips: Map<string, string | null>;
}

/**
 * One `ls-remote` for the named branches and, with `withDefault`, the branch the remote's HEAD points at. The
 * remote still lists every branch it has (ls-remote matches names by their tail, so git cannot ask the server to
 * filter), but nothing is fetched or written here: callers run it outside the mirror's lock.
 */
export async function lsRemoteBranches(git: SimpleGit, url: string, branches: readonly string[], withDefault: boolean): Promise<RemoteBranches> {
  const refs = branches.map((branch) => `refs/heads/${branch}`);
  const out = await git.raw(['ls-remote', ...(withDefault ? ['--symref'] : []), '--', url, ...(withDefault ? ['HEAD'] : []), ...refs]);
  const advertised = new Map<string, string>();
  let defaultBranch: string | null = null;
  for (const line of out.split('\n')) {
    const symref = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
    if (symref) defaultBranch = symref[1]!;
    else {
      const [sha, name] = line.split('\t');
      if (sha && name) advertised.set(name, sha);
    }
  }
  if (defaultBranch !== null) assertSafeBaseBranch(defaultBranch);
  const tips = new Map(branches.map((branch) => [branch, advertised.get(`refs/heads/${branch}`) ?? null]));
  // HEAD's own line carries the default branch's tip (it was not asked for by name).
  if (defaultBranch !== null && !tips.has(defaultBranch)) tips.set(defaultBranch, advertised.get('HEAD') ?? null);
  return { defaultBranch, tips };
}

export class MirrorCache {
  private readonly mirrorsDir: string;

  /** `root` must be an absolute, symlink-free path (see createWorkspaces). */
  constructor(private readonly root: string) {
    this.mirrorsDir = path.join(root, 'mirrors');
  }

  pathFor(remote: Remote): string {
    return path.join(this.mirrorsDir, `${remote.fingerprint}.git`);
  }

  /** True when `dir` is where this cache keeps mirrors (`<root>/mirrors/<fingerprint>.git`). */
  isMirrorPath(dir: string): boolean {
    return path.dirname(dir) === this.mirrorsDir && /^[0-9a-f]{16}\.git$/.test(path.basename(dir));
  }

  /** Runs `operation` holding the mirror's lock, with the mirror created if needed and its config checked. */
  async withMirror<T>(remote: Remote, operation: (mirror: Mirror) => Promise<T>): Promise<T> {
    const dir = this.pathFor(remote);
    return this.withLock(dir, async () => {
      await this.ensure(dir);
      const git = this.gitIn(dir);
      await assertSafeRepositoryConfig(git, dir);
      return operation(new Mirror(dir, remote, git));
    });
  }

  /** Runs `operation` holding the mirror's lock: this process's mutex, then the host-wide file lock. */
  async withLock<T>(mirrorPath: string, operation: () => Promise<T>): Promise<T> {
    if (!this.isMirrorPath(mirrorPath)) throw new Error(`${mirrorPath} is not a mirror under ${this.mirrorsDir}`);
    const lockFile = path.join(this.root, 'locks', `${path.basename(mirrorPath)}.lock`);
    return locks.run(mirrorPath, () => withFileLock(lockFile, operation));
  }

  /** A hardened git that never discovers a repository above the root (secretConfig: see HardenedGitOptions). */
  gitIn(dir: string, secretConfig?: Readonly<Record<string, string>>): SimpleGit {
    return hardenedGit({ baseDir: dir, ceilingDir: path.dirname(this.root), secretConfig });
  }

  /** Mirror directories that exist now. */
  async list(): Promise<string[]> {
    const names = await fs.readdir(this.mirrorsDir).catch(() => [] as string[]);
    return names.map((name) => path.join(this.mirrorsDir, name)).filter((dir) => this.isMirrorPath(dir));
  }

  /** Creates the bare repository atomically (init in a temporary directory, then rename into place). */
  private async ensure(dir: string): Promise<void> {
    if (await exists(dir)) return;
    await fs.mkdir(this.mirrorsDir, { recursive: true });
    const temporary = path.join(this.mirrorsDir, `.tmp-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(temporary);
    try {
      await this.gitIn(temporary).raw(['init', '--bare', '--quiet']);
      // Another process may have won the race; its mirror is as good as ours.
      await fs.rename(temporary, dir).catch(async (err: unknown) => {
        if (!(await exists(dir))) throw err;
      });
    } finally {
      await fs.rm(temporary, { recursive: true, force: true });
    }
  }
}

async function exists(target: string): Promise<boolean> {
  return fs.lstat(target).then(
    () => true,
    () => false,
  );
}
