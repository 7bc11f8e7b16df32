/**
 * The optional OS sandbox (`sandbox: "bwrap"` in an agent profile): the agent runs under bubblewrap, which
 * sees the whole file system read-only except the card's worktree, its run and state directories and the git
 * directories a commit writes; Ouija's data directory (secrets, database files, other cards' worktrees and
 * runs) is hidden behind an empty tmpfs; /tmp is private; /proc shows only the sandbox's own processes, so the
 * worker's environment (/proc/<pid>/environ) is out of reach. The network is left alone: agents must reach
 * their provider. See docs/AGENTS.md for what it does and does not protect.
 */
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { findOnPath } from '../../executables';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

export type SandboxMode = 'none' | 'bwrap';

export interface SandboxSettings {
  mode: SandboxMode;
  /** Directories the agent must not see (Ouija's data directory); the paths a run needs inside stay visible. */
  hidden?: string[];
}

export interface SandboxPlan {
  /** The agent's working directory (the card's worktree): writable. */
  cwd: string;
  /** Other directories the agent may write: its run directory (HOME, TMPDIR), the card's state directory, git's. */
  writable: string[];
  /** Directories made visible again, read-only, inside a hidden one (the card's git mirror). */
  readOnly: string[];
  hidden: string[];
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

/**
 * The command that starts `invocation` under `settings`: itself without a sandbox, else bubblewrap around it,
 * writable in `cwd` (the worktree, with the git directories a commit needs) and `writable`, blind to `hidden`.
 */
export function sandboxedInvocation(
  settings: SandboxSettings | undefined,
  invocation: { command: string; args: string[] },
  paths: { cwd: string; writable: string[]; pathVariable: string | undefined },
): { command: string; args: string[] } {
  if (!settings || settings.mode === 'none') return invocation;
  const git = worktreeGitDirs(paths.cwd);
  const plan: SandboxPlan = {
    cwd: paths.cwd,
    writable: [...paths.writable, ...git.writable],
    readOnly: [...programsUnderTmp(invocation), ...git.readOnly],
    hidden: settings.hidden ?? [],
  };
  return { command: findBwrap(paths.pathVariable), args: bwrapArgs(plan, invocation.command, invocation.args) };
}

/**
 * The private /tmp would hide an agent program that lives under /tmp (Ouija itself checked out there, as CI
 * does): the top-level /tmp entry holding each absolute program path is shown again, read-only, as everything
 * outside /tmp already is.
 */
function programsUnderTmp(invocation: { command: string; args: string[] }): string[] {
  const tops = new Set<string>();
  for (const candidate of [invocation.command, ...invocation.args]) {
    if (!isAbsolute(candidate)) continue;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    const [, top, entry] = real.split(sep);
    if (top === 'tmp' && entry) tops.add(join(sep, top, entry));
  }
  return [...tops];
}

/**
 * bubblewrap's argument list for `command args` under `plan`. Mounts are applied in argument order, so every
 * directory comes after its parents: a writable worktree inside a hidden data directory reappears on top.
 *
 * Not used, on purpose: `--new-session` (it would move the agent out of the process group Ouija kills; the
 * agent has no controlling terminal anyway, as it is spawned detached), `--unshare-net` (the provider's API).
 */
export function bwrapArgs(plan: SandboxPlan, command: string, args: readonly string[]): string[] {
  for (const dir of [plan.cwd, ...plan.writable, ...plan.readOnly, ...plan.hidden]) {
    if (!isAbsolute(dir)) throw new SandboxError(`sandbox paths must be absolute: ${dir}`);
  }
  const mounts = [
    { dir: '/tmp', flags: ['--tmpfs'] },
    ...plan.hidden.map((dir) => ({ dir, flags: ['--tmpfs'] })),
    ...plan.readOnly.map((dir) => ({ dir, flags: ['--ro-bind', dir] })),
    ...[plan.cwd, ...plan.writable].map((dir) => ({ dir, flags: ['--bind', dir] })),
  ]
    .map((mount, order) => ({ ...mount, depth: resolve(mount.dir).split(sep).length, order }))
    // Parents before children; among equals, the order above (hidden, then read-only, then writable).
    .sort((a, b) => a.depth - b.depth || a.order - b.order);
  return [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    // A new PID namespace with its own /proc: the agent cannot see (or read the environment of) host processes,
    // and when bwrap dies every process in the namespace dies with it, even one that left the process group.
    '--unshare-pid', '--proc', '/proc',
    '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent',
    // Run as root, bwrap would keep every capability: without CAP_SYS_ADMIN nothing can be remounted writable.
    '--cap-drop', 'ALL',
    ...mounts.flatMap((mount) => [...mount.flags, mount.dir]),
    '--chdir', plan.cwd,
    '--', command, ...args,
  ];
}

/**
 * The git directories a commit in `worktree` writes besides the worktree: its admin directory
 * (`<repo>/worktrees/<name>`: HEAD, index) and the shared repository's objects, refs and logs; the
 * repository itself (config, hooks) stays read-only. The worktree's `.git` link is agent-writable, so it is
 * trusted only if the admin directory it names links back to this worktree and sits in the standard layout:
 * an agent cannot create such a directory outside what it may already write.
 * Creates `<repo>/logs` when missing: a commit writes the branch's reflog there, and git could not create it
 * inside the read-only repository.
 */
export function worktreeGitDirs(worktree: string): { readOnly: string[]; writable: string[] } {
  const tree = realpathSync(worktree);
  const dotGit = join(tree, '.git');
  const link = /^gitdir: (.+?)\r?\n?$/.exec(readIfFile(dotGit) ?? '')?.[1];
  if (!link) {
    // A plain repository (tests, a `command` agent on a checkout): everything git writes is inside it.
    if (isDirectory(dotGit)) return { readOnly: [], writable: [] };
    throw new SandboxError(`${worktree} is not a git worktree`);
  }
  const adminDir = realpathSync(resolve(tree, link));
  const repo = dirname(dirname(adminDir));
  const linkedBack = readIfFile(join(adminDir, 'gitdir'))?.trim();
  if (basename(dirname(adminDir)) !== 'worktrees' || linkedBack === undefined || resolve(adminDir, linkedBack) !== dotGit) {
    throw new SandboxError(`${dotGit} does not point at an admin directory of this worktree`);
  }
  mkdirSync(join(repo, 'logs'), { recursive: true });
  const shared = ['objects', 'refs', 'logs'].map((name) => join(repo, name)).filter(isDirectory);
  return { readOnly: [repo], writable: [adminDir, ...shared] };
}

/** The bubblewrap binary on `pathVariable`, or a SandboxError that says how to install it. */
export function findBwrap(pathVariable: string | undefined): string {
  const bwrap = findOnPath('bwrap', pathVariable ?? '');
  if (bwrap !== null) return bwrap;
  throw new SandboxError('the agent profile asks for sandbox "bwrap" but bwrap is not on PATH (Debian/Ubuntu: apt-get install bubblewrap)');
}

function readIfFile(file: string): string | undefined {
  try {
    return statSync(file).isFile() ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
