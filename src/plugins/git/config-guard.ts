/**
 * Refuses to run host git in a repository whose own config (local or worktree scope, which the agent can
 * write) sets something that would make git run a program or send data elsewhere. Settings that
 * HARDENED_CONFIG already overrides on every call (hooks, fsmonitor, protocols, signing) are not listed here:
 * those are neutralised, not refused. Included files are expanded by git and show their includer's scope.
 */
import type { SimpleGit } from 'simple-git';
import { UnsafeRepositoryConfigError } from './errors';

/** git prints section and variable names in lower case; subsections keep theirs (matched by `.*`). */
const DANGEROUS_KEYS: readonly RegExp[] = [
  /^core\.(?:sshcommand|gitproxy|askpass|editor|pager|worktree)$/,
  /^sequence\.editor$/,
  /^filter\..*\.(?:clean|smudge|process)$/,
  /^diff\.external$/,
  /^diff\..*\.(?:textconv|command)$/,
  /^merge\..*\.driver$/,
  /^credential\.(?:.*\.)?helper$/,
  /^gpg\.(?:.*\.)?program$/,
  /^url\..*\.(?:insteadof|pushinsteadof)$/,
  /^remote\..*\.(?:uploadpack|receivepack|proxy)$/,
];

const AGENT_WRITABLE_SCOPES = new Set(['local', 'worktree']);

/** Keys of the agent-writable config that match DANGEROUS_KEYS. */
export async function dangerousConfigKeys(git: SimpleGit): Promise<string[]> {
  // -z: records are `scope NUL key LF value NUL`, so no value can forge a record of its own.
  const fields = (await git.raw(['config', '--list', '--show-scope', '-z'])).split('\0');
  const found = new Set<string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const scope = fields[i] as string;
    const key = (fields[i + 1] as string).split('\n', 1)[0] as string;
    if (AGENT_WRITABLE_SCOPES.has(scope) && DANGEROUS_KEYS.some((pattern) => pattern.test(key))) found.add(key);
  }
  return [...found];
}

export async function assertSafeRepositoryConfig(git: SimpleGit, where: string): Promise<void> {
  const keys = await dangerousConfigKeys(git);
  if (keys.length > 0) {
    throw new UnsafeRepositoryConfigError(`refusing to run git in ${where}: its config sets ${keys.join(', ')}`);
  }
}
