/** Workspace activities (git queue): thin adapters from effects to the git plugin and the forge. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { assertRepoAllowed, RepoNotAllowedError } from '../src/core/repos';
import type { CardInfo, Workspace } from '../src/core/types';
import { NonRetryableGitError, type SecretGitConfig, type Workspaces } from '../src/plugins/git';
import type { Forge } from '../src/plugins/git/forges/types';
import { log as defaultLog, type Logger } from '../src/log';
import { untilDatabaseAnswers } from './database-wait';
import { failuresSoFar, withFailureBudget, type AttemptPolicy, type FailureCount } from './failure-budget';
import { heartbeatDuring } from './heartbeat';
import { activityLogger } from './logger';
import type { WorkspaceActivities } from './types';

export interface WorkspaceActivityDeps {
  workspaces: Workspaces;
  /** The card's forge: the local one for built-in cards, GitHub's for GitHub issues. */
  forgeFor(card: CardInfo): Forge;
  /** Credentials git needs to push the card's branch (an https auth header for GitHub), if any. */
  pushSecretsFor?(card: CardInfo): SecretGitConfig | undefined;
  allowedRepos: readonly string[];
  /**
   * This host's ID (workers/host.ts): recorded on every workspace made here, so that the card's later activities run
   * on this host's own task queues. Undefined: workspaces name no host and everything runs on the shared queues.
   */
  hostId?: string;
  /** Base logger (default: Ouija's); lines carry the card and activity context. */
  log?: Logger;
}

/**
 * Runs a workspace activity: heartbeating throughout (the workflow gives git steps a heartbeat timeout, so a
 * worker that dies mid-push is noticed in seconds rather than at the 10-minute start-to-close), failing at
 * once, without using up the retry policy, on errors that retrying cannot fix, and counting only its own
 * failures against the step's attempts (a crash costs none: see failure-budget.ts).
 */
async function failFastOn<T>(base: Logger, policy: AttemptPolicy | undefined, fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const details = (): FailureCount => ({ failures: failuresSoFar(ctx) });
  return withFailureBudget(ctx, policy, details, async () => {
    try {
      // The built-in forge keeps its review requests in Postgres: an outage is waited out, not charged to the
      // step's attempts (every workspace activity is idempotent, so running it again from the top is safe).
      const waitForDatabase = { log: activityLogger(base), heartbeat: details };
      return await heartbeatDuring(ctx, details, untilDatabaseAnswers(ctx.info.activityType, fn, waitForDatabase));
    } catch (err) {
      if (err instanceof NonRetryableGitError || err instanceof RepoNotAllowedError) {
        activityLogger(base).warn({ err }, 'failing the effect without retries');
        throw ApplicationFailure.create({ message: err.message, type: err.name, nonRetryable: true, cause: err });
      }
      throw err;
    }
  });
}

export function createWorkspaceActivities(deps: WorkspaceActivityDeps): WorkspaceActivities {
  const base = deps.log ?? defaultLog;
  const onThisHost = <W extends Workspace>(workspace: W): W => (deps.hostId === undefined ? workspace : { ...workspace, host: deps.hostId });
  const activities: WorkspaceActivities = {
    async prepareWorkspace({ card, branch, fresh }) {
      // Checked again here, not only at ingestion: the allow-list may have changed since the card started.
      assertRepoAllowed(card.repo, deps.allowedRepos);
      const prepared = await deps.workspaces.prepare({ cardKey: card.key, repo: card.repo, branch, baseBranch: card.baseBranch, fresh: fresh === true });
      const workspace = onThisHost(prepared);
      activityLogger(base).info({ branch: workspace.branch, path: workspace.path, baseSha: workspace.baseSha, host: workspace.host, fresh: fresh === true }, 'workspace prepared');
      return { kind: 'prepare', workspace };
    },

    async publish({ card, workspace }) {
      assertRepoAllowed(card.repo, deps.allowedRepos);
      // The lease is the remote sha this run last saw: a push from a stale attempt is rejected, not forced.
      const { remoteSha } = await deps.workspaces.push({
        path: workspace.path,
        repo: card.repo,
        branch: workspace.branch,
        expectedRemoteSha: workspace.remoteSha,
        secretConfig: deps.pushSecretsFor?.(card),
      });
      const review = await deps.forgeFor(card).openOrUpdateReview({ card, branch: workspace.branch, headSha: remoteSha, title: card.title, body: card.body });
      activityLogger(base).info({ branch: workspace.branch, remoteSha, review: review.url }, 'branch pushed, review request open');
      return { kind: 'publish', review, remoteSha };
    },

    async prepareGroup({ card, workspace, steps }) {
      const made = await deps.workspaces.prepareMembers({ cardKey: card.key, path: workspace.path, steps });
      const workspaces = Object.fromEntries(Object.entries(made).map(([step, member]) => [step, onThisHost(member)]));
      activityLogger(base).info({ steps }, 'parallel step worktrees prepared');
      return { kind: 'prepareGroup', workspaces };
    },

    async mergeGroup({ card, workspace, merge, discard }) {
      const { headSha, merged } = await deps.workspaces.mergeMembers({ cardKey: card.key, path: workspace.path, merge, discard });
      activityLogger(base).info({ merged, discarded: discard, headSha }, 'parallel steps merged');
      return { kind: 'mergeGroup', headSha, merged };
    },

    async cleanupWorkspace({ card, workspace }) {
      await deps.workspaces.cleanup({ cardKey: card.key, path: workspace.path });
      activityLogger(base).info({ path: workspace.path }, 'workspace cleaned up');
      return { kind: 'cleanup' };
    },
  };
  return {
    prepareWorkspace: (effect, policy) => failFastOn(base, policy, () => activities.prepareWorkspace(effect)),
    publish: (effect, policy) => failFastOn(base, policy, () => activities.publish(effect)),
    cleanupWorkspace: (effect, policy) => failFastOn(base, policy, () => activities.cleanupWorkspace(effect)),
    prepareGroup: (effect, policy) => failFastOn(base, policy, () => activities.prepareGroup(effect)),
    mergeGroup: (effect, policy) => failFastOn(base, policy, () => activities.mergeGroup(effect)),
  };
}
