/** Which reconcilers a running Ouija has: the built-in board's, and GitHub's when it is configured. */
import type { OuijaConfig } from '../config';
import type { IngestDeps } from '../ingest';
import type { Logger } from '../log';
import { githubClient } from '../plugins/kanban/github/client';
import { listGithubCards } from '../plugins/kanban/github/lister';
import { builtinBoardSnapshot } from './builtin-snapshot';
import { startReconciler, type Reconciler } from './reconciler';
import type { BoardSnapshot } from './types';

export function githubBoardSnapshot(github: NonNullable<OuijaConfig['github']>, token: string | undefined, log: Logger): BoardSnapshot {
  const octokit = githubClient({ token, apiUrl: github.apiUrl, log });
  return { source: 'github', list: () => listGithubCards(octokit, github) };
}

/** Each board source on its own interval (0 = off), so a slow GitHub never delays the built-in board. */
export function startBoardReconcilers(options: { config: OuijaConfig; ingest: IngestDeps; log: Logger }): Reconciler[] {
  const { config, ingest, log } = options;
  const plans: Array<{ intervalMs: number; source: BoardSnapshot }> = [
    { intervalMs: config.reconcileIntervalMs, source: builtinBoardSnapshot(ingest.db) },
  ];
  const github = config.github;
  if (github && github.repos.length > 0) {
    plans.push({ intervalMs: github.reconcileIntervalMs, source: githubBoardSnapshot(github, config.secrets.githubToken, log) });
  }
  return plans
    .filter((plan) => plan.intervalMs > 0)
    .map((plan) => {
      log.info({ source: plan.source.source, intervalMs: plan.intervalMs }, 'reconciler started');
      return startReconciler({ deps: ingest, sources: [plan.source], intervalMs: plan.intervalMs });
    });
}
