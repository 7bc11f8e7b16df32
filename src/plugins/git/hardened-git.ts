/**
 * The one way Ouija runs git on the host. Agents can write `.git/config` and hooks in their worktree (and the
 * mirror behind it), so every call pins the settings that would otherwise let them run code in Ouija's
 * process: hooks and fsmonitor off, a protocol allow-list, no signing programs, a fixed identity. Command-line
 * `-c` settings override every config file. The environment is explicit: no inherited GIT_* variables.
 */
import { performance } from 'node:perf_hooks';
import { Histogram } from 'prom-client';
import { simpleGit, type SimpleGit } from 'simple-git';
import { isSafeBranchName } from '../../core/cards';
import { registry } from '../../metrics';
import { GitCommandError, UnsafeGitInputError } from './errors';

export const OUIJA_IDENTITY = { name: 'Ouija', email: 'ouija@localhost' } as const;

export const HARDENED_CONFIG: readonly string[] = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'protocol.allow=never',
  'protocol.file.allow=always',
  'protocol.https.allow=always',
  'protocol.ssh.allow=always',
  'commit.gpgSign=false',
  'push.gpgSign=false',
  // Submodule URLs come from the repository's content: never clone, fetch or push them as a side effect.
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'push.recurseSubmodules=no',
  `user.name=${OUIJA_IDENTITY.name}`,
  `user.email=${OUIJA_IDENTITY.email}`,
];

/** Variables passed through to git; everything else (GIT_*, EDITOR, PAGER, ...) stays out. */
const PASSTHROUGH_ENV = [
  'PATH', 'HOME', 'XDG_CONFIG_HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'SSH_AUTH_SOCK',
  'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];

export interface HardenedGitOptions {
  /** Directory git runs in. */
  baseDir: string;
  /** Git never looks for a repository at or above this directory (keeps an enclosing checkout's config out). */
  ceilingDir?: string;
  /**
   * Extra settings for this git only, passed in the environment (GIT_CONFIG_COUNT/KEY_n/VALUE_n) rather than
   * as `-c` arguments, so a secret such as an auth header never shows in argv (`ps`, /proc, error messages).
   */
  secretConfig?: Readonly<Record<string, string>>;
}

/** `{ key: value }` settings as git's environment-variable config (same scope as `-c`). */
export function gitConfigEnv(settings: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(settings);
  const env: Record<string, string> = entries.length > 0 ? { GIT_CONFIG_COUNT: String(entries.length) } : {};
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * The setting that sends `Authorization` with git's requests to one https remote (and only to it: git matches
 * `http.<url>.*` by scheme, host and path prefix). GitHub accepts a token as basic auth for `x-access-token`.
 */
export function githubHttpAuth(remoteUrl: string, token: string): Record<string, string> {
  if (!remoteUrl.startsWith('https://')) return {}; // local paths (tests) and ssh need no header
  const url = new URL(remoteUrl);
  url.username = '';
  url.password = '';
  const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
  return { [`http.${url.href}.extraheader`]: `Authorization: Basic ${basic}` };
}

/** Git subcommands Ouija runs, as metric labels (anything else counts as `other`: the label set stays bounded). */
const COMMANDS = new Set([
  'add', 'branch', 'commit', 'config', 'diff', 'fetch', 'init', 'ls-remote', 'merge', 'merge-base', 'push', 'reset',
  'rev-list', 'rev-parse', 'symbolic-ref', 'update-ref', 'worktree', 'for-each-ref', 'status', 'log',
]);

export const gitCommandDuration = new Histogram({
  name: 'ouija_git_command_duration_seconds',
  help: 'Wall time of each host git process Ouija runs (workspaces, mirrors, pushes), by subcommand (`worktree add`, `rev-parse`, ...) and whether git exited 0.',
  labelNames: ['command', 'ok'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/** `worktree add`, `rev-parse`, ...: the metric label of a git argv (the arguments after the `-c` settings). */
export function gitCommandLabel(args: readonly string[]): string {
  const command = args[0] ?? '';
  if (!COMMANDS.has(command)) return 'other';
  const sub = args[1];
  return command === 'worktree' && sub !== undefined && /^[a-z]+$/.test(sub) ? `worktree ${sub}` : command;
}

export function hardenedGit({ baseDir, ceilingDir, secretConfig = {} }: HardenedGitOptions): SimpleGit {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', ...gitConfigEnv(secretConfig) };
  for (const name of PASSTHROUGH_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  if (ceilingDir) env.GIT_CEILING_DIRECTORIES = ceilingDir;
  const git = simpleGit({
    baseDir,
    config: [...HARDENED_CONFIG],
    // simple-git refuses these `-c` keys by default because callers usually pass them through from users.
    // Ours are fixed values that *disable* the features, and no user text ever reaches an option position.
    // GIT_CONFIG_COUNT carries only Ouija's own settings (secretConfig), never user text.
    unsafe: { allowUnsafeHooksPath: true, allowUnsafeFsMonitor: true, allowUnsafeProtocolOverride: true, allowUnsafeConfigEnvCount: Object.keys(secretConfig).length > 0 },
    allowEnvironment: Object.keys(env).filter((name) => name.startsWith('GIT_')),
    // By default simple-git resolves when git exits non-zero without stderr (`diff --quiet`, `--is-ancestor`).
    errors: (error, result) =>
      result.exitCode === 0 ? error : new GitCommandError(result.exitCode, Buffer.concat(result.stdErr).toString('utf8')),
  })
    .env(env)
    // simple-git (4.x, its completion-detection plugin) waits a fixed 50 ms after every git process that printed
    // nothing, in case output comes late: each quiet command (`add`, `update-ref`, `status` of a clean tree,
    // `worktree add --quiet`, `push --quiet`, `merge-base --is-ancestor`, ...) cost 50 ms more than git itself.
    // Once both stdout and stderr have ended no output can come late: an empty chunk then tells it not to wait.
    // Only then: when it settles on git's `exit` before the pipes have ended (a busy event loop), its wait is
    // what lets the output still arrive, so a quiet-looking `rev-parse` never reads as empty.
    .outputHandler((_command, stdout, stderr) => {
      let open = 2;
      const ended = () => {
        if (--open === 0) stdout.emit('data', Buffer.alloc(0));
      };
      stdout.once('end', ended);
      stderr.once('end', ended);
    });
  // Every call Ouija makes goes through `raw(argv)`: time each one (see gitCommandDuration).
  const raw = git.raw.bind(git) as (args: string[]) => Promise<string>;
  const timedRaw = async (args: string[]): Promise<string> => {
    const started = performance.now();
    let ok = 'false';
    try {
      const out = await raw(args);
      ok = 'true';
      return out;
    } finally {
      gitCommandDuration.observe({ command: gitCommandLabel(args), ok }, (performance.now() - started) / 1000);
    }
  };
  (git as unknown as { raw: typeof timedRaw }).raw = timedRaw;
  return git;
}

/** Runs a git predicate: true on exit 0, false on exit 1, throws on anything else. */
export async function gitTest(git: SimpleGit, args: readonly string[]): Promise<boolean> {
  try {
    await git.raw([...args]);
    return true;
  } catch (err) {
    if (err instanceof GitCommandError && err.exitCode === 1) return false;
    throw err;
  }
}

/** The full sha `rev` names, or null when it names nothing. `rev` never starts with `-` (callers build it). */
export async function revParse(git: SimpleGit, rev: string): Promise<string | null> {
  try {
    return (await git.raw(['rev-parse', '--verify', '--quiet', rev])).trim() || null;
  } catch (err) {
    if (err instanceof GitCommandError && err.exitCode === 1) return null;
    throw err;
  }
}

/**
 * The commit each full ref name points at (null: no such ref, or not a commit), for several refs with one git
 * process. A ref naming a tag is peeled once. Ref names are built by callers (`refs/...`), never user text.
 */
export async function commitsAt(git: SimpleGit, refs: readonly string[]): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>(refs.map((ref) => [ref, null]));
  if (refs.length === 0) return found;
  // for-each-ref matches whole path components, so `refs/x/a` also lists `refs/x/a/b`: exact names are kept.
  const out = await git.raw(['for-each-ref', '--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)', '--', ...refs]);
  for (const line of out.split('\n')) {
    const [ref, type, sha, peeledType, peeledSha] = line.split('\0');
    if (!ref || !found.has(ref)) continue;
    if (type === 'commit' && sha) found.set(ref, sha);
    else if (type === 'tag' && peeledType === 'commit' && peeledSha) found.set(ref, peeledSha);
  }
  return found;
}

/** Card branches: only names from `branchNameForCard` (`ouija/[a-z0-9-]`) reach git. */
export function assertSafeBranch(name: string): void {
  if (!isSafeBranchName(name)) throw new UnsafeGitInputError(`refusing unsafe branch name ${JSON.stringify(name)}`);
}

/**
 * Base branches come from configuration (`main`, `release/2.0`), so they are wider than card branches, but
 * still cannot start with `-`, and are only ever used behind a `refs/...` prefix.
 */
const BASE_BRANCH_PATTERN = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\/\.)(?!.*\.lock(?:\/|$))[A-Za-z0-9._/-]{1,200}(?<![./])$/;

export function assertSafeBaseBranch(name: string): void {
  if (!BASE_BRANCH_PATTERN.test(name)) throw new UnsafeGitInputError(`refusing unsafe base branch name ${JSON.stringify(name)}`);
}

const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function assertSha(value: string, what: string): void {
  if (!SHA_PATTERN.test(value)) throw new UnsafeGitInputError(`${what} ${JSON.stringify(value)} is not a full commit sha`);
}
