/**
 * Which remotes Ouija accepts: absolute local paths, file://, https:// and ssh (URL or scp-like
 * `user@host:path`). Everything else (git://, http://, ext::, relative paths, anything starting with `-`)
 * is refused before git sees it; the protocol allow-list in HARDENED_CONFIG is the second fence.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { UnsafeGitInputError } from './errors';

export interface Remote {
  /** What git is given: the normalised path or URL. */
  url: string;
  /** Stable short name for the remote's mirror directory. */
  fingerprint: string;
}

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:(?!\/\/)[^-]/;
const URL_PROTOCOLS = new Set(['file:', 'https:', 'ssh:']);

export function parseRemote(repo: string): Remote {
  const refuse = (why: string): never => {
    throw new UnsafeGitInputError(`unsupported remote ${JSON.stringify(repo)}: ${why}`);
  };
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(repo) || repo.startsWith('-')) refuse('whitespace, control characters or a leading "-"');
  let url: string;
  if (repo.startsWith('/')) {
    url = path.resolve(repo);
  } else if (SCP_LIKE.test(repo)) {
    url = repo;
  } else {
    let parsed: URL;
    try {
      parsed = new URL(repo);
    } catch {
      return refuse('expected an absolute path or a file://, https:// or ssh URL');
    }
    if (!URL_PROTOCOLS.has(parsed.protocol)) refuse(`protocol ${parsed.protocol} is not allowed (file, https, ssh)`);
    if (parsed.protocol !== 'file:' && !parsed.hostname) refuse('no host');
    if (parsed.password) refuse('credentials belong in a credential helper, not in the URL');
    url = parsed.href;
  }
  return { url, fingerprint: createHash('sha256').update(url).digest('hex').slice(0, 16) };
}
