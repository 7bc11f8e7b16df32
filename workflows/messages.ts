/**
 * The card workflow's public surface: its signal, query, argument type and task queues.
 * Importable from both workflow code and clients (no I/O here).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CardInfo, CardState, PipelineEntry, Trigger } from '../src/core/types';

/** Everything that happens to a card reaches its workflow through this one signal. */
export const triggerSignal = defineSignal<[Trigger]>('trigger');
/** The card's current lifecycle state. */
export const stateQuery = defineQuery<CardState>('state');

export const TASK_QUEUES = {
  workflows: 'ouija-workflows',
  agents: 'ouija-agents',
  git: 'ouija-git',
  board: 'ouija-board',
  notify: 'ouija-notify',
} as const;

/** Timeouts and retries the workflow gives its activities; fixed per run (part of the history). */
export interface CardSettings {
  agentTimeoutMs: number;
  agentHeartbeatTimeoutMs: number;
  /** Failures of an agent step (of a git step) after which it fails for good; a worker crash is not one. */
  agentMaxAttempts: number;
  gitMaxAttempts: number;
  /** Attempts beyond those a step may spend on its worker dying (heartbeat timeouts) before it fails anyway. */
  crashRetries: number;
  /** Heartbeat timeout of git, board and notify activities: how soon a dead worker's push or move is retried elsewhere. */
  activityHeartbeatTimeoutMs: number;
  /** Continue-as-new once the history has this many events (and nothing is in flight). */
  continueAsNewAfterEvents: number;
}

export const DEFAULT_CARD_SETTINGS: CardSettings = {
  agentTimeoutMs: 30 * 60_000,
  agentHeartbeatTimeoutMs: 30_000,
  agentMaxAttempts: 3,
  gitMaxAttempts: 5,
  crashRetries: 10,
  activityHeartbeatTimeoutMs: 30_000,
  continueAsNewAfterEvents: 2_000,
};

export interface CardWorkflowInput {
  card: CardInfo;
  pipeline?: PipelineEntry[];
  settings?: Partial<CardSettings>;
  /** Set only by continue-as-new: the state and unprocessed triggers carried over. */
  carried?: { state: CardState; inbox: Trigger[] };
}

/** Error types that retrying cannot fix (activities also mark their own as non-retryable). */
export const NON_RETRYABLE_ERRORS = ['LeaseRejectedError', 'BranchDivergedError', 'RepoNotAllowedError', 'InvalidCardRefError', 'UnsafeGitInputError', 'UnsafeRepositoryConfigError'];
