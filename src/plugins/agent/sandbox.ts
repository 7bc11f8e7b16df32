/**
 * The OS sandbox every agent runs in unless its profile says `"sandbox": "none"`: bubblewrap, with a root file
 * system built from what the agent needs and nothing else. Shown read-only: the system directories (/usr, /etc,
 * /sys and the /bin, /lib symlinks), the directories on the agent's PATH and the agent program's own files (its
 * node_modules tree or Python venv, or the file alone). Shown writable: the card's worktree, its run directory
 * (HOME, TMPDIR), the card's state directory and the git directories a commit writes (the worktree's own
 * repository, see src/plugins/git/worktrees.ts: objects, refs, logs, its admin directory); read-only: that
 * repository's config and hooks and the object stores it borrows from (objects/info/alternates). Everything
 * else is absent: Ouija's data directory (secrets, database files, other cards' worktrees and runs), home
 * directories, other Ouija instances anywhere on the machine; `hidden` directories stay empty even where a
 * shown directory holds them. /tmp is private; /proc shows only the sandbox's own processes, so the worker's
 * environment (/proc/<pid>/environ) is out of reach. The network is left alone: agents must reach their
 * provider. See docs/AGENTS.md for what it does and does not protect.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { findOnPath } from '../../executables';
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';

export type SandboxMode = 'none' | 'bwrap';

/** A profile's `sandbox` setting as the mode it runs in: sandboxed unless it says `none` in so many words. */
export function sandboxModeOf(setting: SandboxMode | undefined): SandboxMode {
  return setting ?? 'bwrap';
}

export interface SandboxSettings {
  mode: SandboxMode;
  /**
   * Directories the agent must never see (Ouija's data directory, the secrets directory), even where a shown
   * directory holds them; the paths a run needs inside them stay visible.
   */
  hidden?: string[];
}

/** One mount of the sandbox's file system; `source` defaults to `path` (the same place on the host). */
export type SandboxMount =
  | { kind: 'ro' | 'rw'; path: string; source?: string }
  | { kind: 'tmpfs'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  /** An empty file in place of this one (/etc/shadow). */
  | { kind: 'mask'; path: string };

export interface SandboxPlan {
  /** The agent's working directory (the card's worktree): writable. */
  cwd: string;
  mounts: SandboxMount[];
}

export class SandboxError extends Error {
  override name = 'SandboxError';
}

/** What every program needs: shown read-only (or, where they are symlinks, as the same symlinks). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/sys'];

/** Readable by root, and of no use to an agent. */
const MASKED_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-'];

const HOW_TO_FIX =
  'Debian/Ubuntu: apt-get install bubblewrap; or set "sandbox": "none" in the agent profile to run it unsandboxed (docs/AGENTS.md#sandbox)';

/**
 * The command that starts `invocation` under `settings`: itself without a sandbox, else bubblewrap around it.
 * Throws SandboxError when bwrap is missing or cannot make a sandbox here (checked once per process).
 */
export async function sandboxedInvocation(
  settings: SandboxSettings,
  invocation: { command: string; args: string[] },
  paths: { cwd: string; writable: string[]; pathVariable: string | undefined },
): Promise<{ command: string; args: string[] }> {
  if (settings.mode === 'none') return invocation;
  const bwrap = await usableBwrap(paths.pathVariable);
  const plan = sandboxPlan({ ...paths, hidden: settings.hidden ?? [], command: invocation.command, args: invocation.args });
  return { command: bwrap, args: bwrapArgs(plan, invocation.command, invocation.args) };
}

/**
 * What the agent sees: see the header. `hidden` directories are left out of everything shown for the system,
 * PATH and the program (and put back as empty directories where a shown directory holds them); the run's own
 * paths and git directories may lie inside them.
 */
export function sandboxPlan(input: {
  cwd: string;
  writable: string[];
  hidden: string[];
  pathVariable: string | undefined;
  command: string;
  args: readonly string[];
}): SandboxPlan {
  const hidden = input.hidden.map((dir) => realOrSelf(dir));
  const isHidden = (path: string) => hidden.some((dir) => within(path, dir));
  const mounts: SandboxMount[] = [];
  /** Host paths shown at their own place, and the system symlinks replicated as they are. */
  const shown: string[] = [];
  const symlinks: string[] = [];
  const covered = (path: string) => shown.some((dir) => within(path, dir)) || symlinks.some((link) => within(path, link));
  const show = (path: string) => {
    if (isHidden(path) || covered(path)) return;
    shown.push(path);
    mounts.push({ kind: 'ro', path });
  };
  /** Makes `at` (a path through a symlink) show what `real` is, when it would not resolve by itself. */
  const alias = (real: string, at: string) => {
    if (at === real || isHidden(at) || isHidden(real) || covered(at)) return;
    mounts.push({ kind: 'ro', path: at, source: real });
  };

  for (const dir of SYSTEM_DIRS) {
    const stat = lstatOrNull(dir);
    if (!stat) continue;
    if (stat.isSymbolicLink()) {
      symlinks.push(dir);
      mounts.push({ kind: 'symlink', path: dir, target: readlinkSync(dir) });
    } else show(dir);
  }
  for (const file of MASKED_FILES) if (lstatOrNull(file)?.isFile()) mounts.push({ kind: 'mask', path: file });
  // DNS: /etc/resolv.conf is often a symlink into /run (systemd-resolved), which is not shown otherwise.
  const resolv = realOrNull('/etc/resolv.conf');
  if (resolv) show(resolv);

  for (const entry of (input.pathVariable ?? '').split(delimiter)) {
    if (!isAbsolute(entry)) continue; // "" and relative entries would mean the worktree: it is there anyway
    const real = realOrNull(entry);
    if (!real || !isDirectory(real)) continue;
    // node_modules/.bin holds symlinks into the packages beside it: show the whole tree.
    show(nodeModulesRoot(real) ?? real);
    alias(real, resolve(entry));
  }

  const runPaths = [input.cwd, ...input.writable].map((dir) => realOrSelf(dir));
  for (const candidate of [input.command, ...input.args]) {
    const program = candidate.includes(sep) ? (isAbsolute(candidate) ? candidate : null) : findOnPath(candidate, input.pathVariable);
    const real = program ? realOrNull(program) : null;
    if (!program || !real || !isFile(real) || runPaths.some((dir) => within(real, dir))) continue;
    show(programRoot(real));
    alias(real, program);
  }

  mounts.push({ kind: 'tmpfs', path: '/tmp' });
  for (const dir of hidden) mounts.push({ kind: 'tmpfs', path: dir });

  const git = worktreeGitDirs(input.cwd);
  for (const dir of git.readOnly) mounts.push({ kind: 'ro', path: dir });
  for (const dir of [input.cwd, ...input.writable, ...git.writable]) mounts.push({ kind: 'rw', path: dir });
  // Read-only again inside what is writable: the files that tell git where the repository is.
  for (const file of git.protect) mounts.push({ kind: 'ro', path: file });
  return { cwd: input.cwd, mounts };
}

/**
 * bubblewrap's argument list for `command args` under `plan`. Mounts are applied in argument order, so every
 * one comes after its parents (by depth; among equals in plan order): a worktree inside a hidden data
 * directory reappears on top of its tmpfs, and a protected file on top of its writable directory.
 *
 * Not used, on purpose: `--new-session` (it would move the agent out of the process group Ouija kills; the
 * agent has no controlling terminal anyway, as it is spawned detached), `--unshare-net` (the provider's API).
 */
export function bwrapArgs(plan: SandboxPlan, command: string, args: readonly string[]): string[] {
  for (const mount of plan.mounts) {
    if (!isAbsolute(mount.path) || ('source' in mount && mount.source !== undefined && !isAbsolute(mount.source))) {
      throw new SandboxError(`sandbox paths must be absolute: ${mount.path}`);
    }
  }
  if (!isAbsolute(plan.cwd)) throw new SandboxError(`sandbox paths must be absolute: ${plan.cwd}`);
  const ordered = plan.mounts
    .map((mount, order) => ({ mount, depth: resolve(mount.path).split(sep).length, order }))
    .sort((a, b) => a.depth - b.depth || a.order - b.order)
    .map(({ mount }) => mount);
  return [
    // A new PID namespace with its own /proc: the agent cannot see (or read the environment of) host processes,
    // and when bwrap dies every process in the namespace dies with it, even one that left the process group.
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent',
    // Run as root, bwrap would keep every capability: without CAP_SYS_ADMIN nothing can be remounted writable.
    '--cap-drop', 'ALL',
    ...ordered.flatMap(mountArgs),
    '--dev', '/dev',
    '--proc', '/proc',
    // The root itself (a tmpfs holding the mount points) is read-only: writes outside the run's paths fail.
    '--remount-ro', '/',
    '--chdir', plan.cwd,
    '--', command, ...args,
  ];
}

function mountArgs(mount: SandboxMount): string[] {
  switch (mount.kind) {
    case 'ro':
      return ['--ro-bind', mount.source ?? mount.path, mount.path];
    case 'rw':
      return ['--bind', mount.source ?? mount.path, mount.path];
    case 'tmpfs':
      return ['--tmpfs', mount.path];
    case 'symlink':
      return ['--symlink', mount.target, mount.path];
    case 'mask':
      return ['--ro-bind', '/dev/null', mount.path];
  }
}

/**
 * The git directories a commit in `worktree` needs besides the worktree. A linked worktree (`.git` is a file
 * naming `<repo>/worktrees/<name>`) writes its admin directory (HEAD, index) and the repository's objects, refs
 * and logs; the repository itself (config, hooks, packed-refs) is read-only, and so are the files that point git
 * elsewhere: the admin directory's `commondir` and `gitdir` and the repository's `objects/info` (alternates).
 * Object stores the repository borrows (its alternates, the shared mirror) are shown read-only.
 * The worktree's `.git` link is agent-writable, so it is trusted only if the admin directory it names links
 * back to this worktree and sits in the standard layout: an agent cannot create such a directory outside what
 * it may already write. Creates `<repo>/logs` when missing: a commit writes the branch's reflog there, and git
 * could not create it inside the read-only repository.
 */
export function worktreeGitDirs(worktree: string): { readOnly: string[]; writable: string[]; protect: string[] } {
  const tree = realpathSync(worktree);
  const dotGit = join(tree, '.git');
  const link = /^gitdir: (.+?)\r?\n?$/.exec(readIfFile(dotGit) ?? '')?.[1];
  if (!link) {
    // A plain repository (tests, a `command` agent on a checkout): everything git writes is inside it.
    if (isDirectory(dotGit)) return { readOnly: alternatesOf(join(dotGit, 'objects')), writable: [], protect: [] };
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
  const protect = [join(adminDir, 'commondir'), join(adminDir, 'gitdir'), join(repo, 'objects', 'info')].filter(existsSync);
  return { readOnly: [repo, ...alternatesOf(join(repo, 'objects'))], writable: [adminDir, ...shared], protect };
}

/** The object directories `objectsDir/info/alternates` names (absolute, or relative to `objectsDir`). */
function alternatesOf(objectsDir: string): string[] {
  const text = readIfFile(join(objectsDir, 'info', 'alternates')) ?? '';
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => realOrNull(resolve(objectsDir, line)))
    .filter((dir): dir is string => dir !== null && isDirectory(dir));
}

/** The bubblewrap binary on `pathVariable`, or a SandboxError that says how to install it. */
export function findBwrap(pathVariable: string | undefined): string {
  const bwrap = findOnPath('bwrap', pathVariable ?? '');
  if (bwrap !== null) return bwrap;
  throw new SandboxError(`agents run in the bubblewrap sandbox unless told otherwise, and bwrap is not on PATH (${HOW_TO_FIX})`);
}

export type SandboxStatus = { usable: true; bwrap: string } | { usable: false; reason: string };

const probes = new Map<string, Promise<SandboxStatus>>();

/**
 * Whether bwrap is on `pathVariable` and can make a sandbox on this machine (a container may forbid the
 * namespaces it needs): one real sandbox (`true` in a new PID namespace), once per process and binary.
 */
export function sandboxStatus(pathVariable: string | undefined = process.env.PATH): Promise<SandboxStatus> {
  let bwrap: string;
  try {
    bwrap = findBwrap(pathVariable);
  } catch (err) {
    return Promise.resolve({ usable: false, reason: (err as Error).message });
  }
  let probe = probes.get(bwrap);
  if (!probe) {
    const trueProgram = findOnPath('true', pathVariable) ?? '/bin/true';
    const args = ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--die-with-parent', '--cap-drop', 'ALL', '--', trueProgram];
    probe = new Promise((done) => {
      execFile(bwrap, args, { timeout: 10_000 }, (error, _stdout, stderr) => {
        if (!error) done({ usable: true, bwrap });
        else done({ usable: false, reason: `${bwrap} cannot create a sandbox here: ${(stderr || error.message).trim().split('\n')[0]} (${HOW_TO_FIX})` });
      });
    });
    probes.set(bwrap, probe);
  }
  return probe;
}

async function usableBwrap(pathVariable: string | undefined): Promise<string> {
  const status = await sandboxStatus(pathVariable);
  if (!status.usable) throw new SandboxError(status.reason);
  return status.bwrap;
}

/**
 * One line for a start-up banner or log: which of the named profiles run sandboxed, and whether they can.
 * `profiles` maps a profile's name (`agent`, `agents.claude`) to its mode.
 */
export function describeSandboxes(profiles: ReadonlyArray<{ name: string; mode: SandboxMode }>, status: SandboxStatus): string {
  const unsandboxed = profiles.filter((p) => p.mode === 'none').map((p) => p.name);
  const boxed = profiles.filter((p) => p.mode === 'bwrap').map((p) => p.name);
  const exceptions = unsandboxed.length > 0 ? `; UNSANDBOXED by "sandbox": "none": ${unsandboxed.join(', ')}` : '';
  if (boxed.length === 0) return `UNSANDBOXED ("sandbox": "none" in every profile): agents can read whatever this user can`;
  if (!status.usable) return `REFUSED: ${boxed.join(', ')} would run sandboxed, but ${status.reason}${exceptions}`;
  return `sandboxed (bubblewrap, ${status.bwrap})${exceptions}`;
}

/**
 * The files a program needs besides itself: its whole node_modules tree (the outermost, so its dependencies
 * come along), its Python venv (a `bin/` beside `pyvenv.cfg`), or else the file alone.
 */
export function programRoot(file: string): string {
  const modules = nodeModulesRoot(file);
  if (modules) return modules;
  const dir = dirname(file);
  if (basename(dir) === 'bin' && existsSync(join(dirname(dir), 'pyvenv.cfg'))) return dirname(dir);
  return file;
}

function nodeModulesRoot(file: string): string | null {
  const parts = file.split(sep);
  const at = parts.indexOf('node_modules');
  return at > 0 ? parts.slice(0, at + 1).join(sep) : null;
}

/** True when `path` is `dir` or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function realOrSelf(path: string): string {
  return realOrNull(path) ?? resolve(path);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
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
