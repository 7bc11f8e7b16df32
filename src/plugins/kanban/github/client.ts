/**
 * The one way Ouija talks to GitHub's API: an Octokit with the retry plugin (transient 5xx) and the throttling
 * plugin (queues requests and honours rate limits). On a rate limit we retry once after GitHub's `retry-after`,
 * then give up: the activity's own retry policy is the longer-term fence, and a stuck queue would hide it.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { log as defaultLog, type Logger } from '../../../log';

const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

export interface GitHubClientOptions {
  token?: string;
  /** e.g. https://api.github.com, or a GitHub Enterprise / test server URL. */
  apiUrl: string;
  log?: Logger;
}

export function githubClient({ token, apiUrl, log = defaultLog }: GitHubClientOptions): GitHubClient {
  const logger = log.child({ plugin: 'github' });
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _octokit: unknown, retryCount: number) => {
    logger.warn({ method: options.method, url: options.url, retryAfter, retryCount }, `GitHub ${kind} rate limit hit`);
    return retryCount < 1;
  };
  return new GitHubOctokit({
    auth: token,
    baseUrl: apiUrl.replace(/\/+$/, ''),
    userAgent: 'ouija',
    log: { debug: () => undefined, info: () => undefined, warn: (msg: string) => logger.warn(msg), error: (msg: string) => logger.error(msg) },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary') },
  });
}

/** Octokit's RequestError for a missing resource. */
export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 404;
}
