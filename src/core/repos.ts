/**
 * Which repositories cards may send agents to. A repository is an absolute local path (a bare repo used as
 * the remote) or an https/ssh/file URL; the allow-list holds exact entries or prefixes ending in `*`.
 * Pure string logic, so the same check runs at ingestion and again in the workspace activity.
 */

export class RepoNotAllowedError extends Error {
  override name = 'RepoNotAllowedError';
}

const URL_PATTERN = /^(https:\/\/|ssh:\/\/|file:\/\/\/)[^\s]+$/;
const SCP_PATTERN = /^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[A-Za-z0-9_./-]+$/;

/** Why `repo` is not a well-formed repository location, or null when it is. */
export function repoProblem(repo: string): string | null {
  if (repo.length === 0 || repo.length > 500) return 'empty or too long';
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(repo)) return 'control or bidi characters';
  if (repo.startsWith('-')) return 'looks like an option';
  if (repo.split(/[/\\]/).includes('..')) return 'path traversal';
  if (/^[a-z][a-z0-9+.-]*::/i.test(repo)) return 'git remote helper syntax';
  if (repo.startsWith('/')) return null;
  if (URL_PATTERN.test(repo)) {
    if (/^[a-z]+:\/\/[^/]*@/i.test(repo) && !repo.startsWith('ssh://')) return 'credentials in URL';
    return null;
  }
  if (SCP_PATTERN.test(repo)) return null;
  return 'not an absolute path or an https/ssh/file URL';
}

export function isRepoAllowed(repo: string, allow: readonly string[]): boolean {
  if (repoProblem(repo) !== null) return false;
  return allow.some((entry) => (entry.endsWith('*') ? repo.startsWith(entry.slice(0, -1)) : repo === entry));
}

export function assertRepoAllowed(repo: string, allow: readonly string[]): void {
  const problem = repoProblem(repo);
  if (problem) throw new RepoNotAllowedError(`repository ${JSON.stringify(repo.slice(0, 200))} rejected: ${problem}`);
  if (!isRepoAllowed(repo, allow)) throw new RepoNotAllowedError(`repository ${JSON.stringify(repo)} is not in repos.allow`);
}
