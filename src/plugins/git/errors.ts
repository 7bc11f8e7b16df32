/**
 * Errors of the git workspace plugin. Those extending NonRetryableGitError cannot be fixed by running the
 * same activity again (bad input, someone else moved the branch, a tampered repository): activities should
 * turn them into non-retryable failures. Anything else (a network hiccup, a lock held by a crashed git) may
 * succeed on retry.
 */
import { GitError } from 'simple-git';

export class NonRetryableGitError extends Error {
  override name = 'NonRetryableGitError';
}

/** A branch, remote, sha or path that Ouija refuses to hand to git. Thrown before git runs. */
export class UnsafeGitInputError extends NonRetryableGitError {
  override name = 'UnsafeGitInputError';
}

/** The push lease failed: the remote branch is no longer where we last saw it. */
export class LeaseRejectedError extends NonRetryableGitError {
  override name = 'LeaseRejectedError';
  constructor(
    readonly branch: string,
    readonly expectedSha: string | null,
    readonly actualSha: string | null,
  ) {
    super(
      `push of ${branch} rejected: the remote branch is at ${actualSha ?? '(none)'}, expected ${expectedSha ?? '(none)'}; someone else moved it`,
    );
  }
}

/** A reused worktree and the remote branch both have commits the other lacks. */
export class BranchDivergedError extends NonRetryableGitError {
  override name = 'BranchDivergedError';
}

/** A parallel group's branches changed the same lines: they did not share no state after all. */
export class MergeConflictError extends NonRetryableGitError {
  override name = 'MergeConflictError';
}

/** The repository's own config (writable by the agent) sets something that would run commands on the host. */
export class UnsafeRepositoryConfigError extends NonRetryableGitError {
  override name = 'UnsafeRepositoryConfigError';
}

/**
 * git exited non-zero. `exitCode` lets callers tell "answered no" (1) from a failure. Extends simple-git's
 * GitError because simple-git re-wraps any other error as a plain string message.
 */
export class GitCommandError extends GitError {
  override name = 'GitCommandError';
  constructor(
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(undefined, `git exited with ${exitCode}: ${stderr.trim() || '(no output)'}`);
  }
}
