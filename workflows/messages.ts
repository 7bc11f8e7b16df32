/**
 * The card workflow's public surface: its signal, query, argument type and task queues.
 * Importable from both workflow code and clients (no I/O here).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CardInfo, CardLimits, CardState, PipelineEntry, SlotPool, Trigger } from '../src/core/types';

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

/**
 * A host's own task queues (the worker-specific task queue pattern): every activity on a card's worktree after the
 * first runs on the host that made it. A host ID names one machine's data directory (see workers/host.ts).
 */
export const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export function hostQueue(host: string, kind: 'git' | 'agents'): string {
  return `${TASK_QUEUES[kind]}@${host}`;
}
export function isHostQueue(taskQueue: string): boolean {
  return /^ouija-(git|agents)@/.test(taskQueue);
}

/**
 * Patch of the workflows that take cluster-wide slots (`CardState.limits`) and prepare afresh at a run's start
 * (docs/VERSIONING.md). Runs begun before it keep neither.
 */
export const CLUSTER_LIMITS_PATCH = 'ouija-cluster-limits';

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
  /** Agent processes at once across the cluster (`agent.maxConcurrent`). */
  agentMaxConcurrent: number;
  /** Cards of the card's board in review at once (`review.maxCards`); null: no limit. */
  reviewMaxCards: number | null;
  /**
   * Schedule-to-start timeout of the activities on a host's own queues: a host that takes none of them for this
   * long is lost, and the card moves to another host.
   */
  hostLostAfterMs: number;
}

export const DEFAULT_CARD_SETTINGS: CardSettings = {
  agentTimeoutMs: 30 * 60_000,
  agentHeartbeatTimeoutMs: 30_000,
  agentMaxAttempts: 3,
  gitMaxAttempts: 5,
  crashRetries: 10,
  activityHeartbeatTimeoutMs: 30_000,
  continueAsNewAfterEvents: 2_000,
  agentMaxConcurrent: 2,
  reviewMaxCards: null,
  hostLostAfterMs: 60_000,
};

/** The limits a card honours, from its workflow's settings. */
export function limitsOf(settings: CardSettings): CardLimits {
  return { agents: settings.agentMaxConcurrent, review: settings.reviewMaxCards };
}

export interface CardWorkflowInput {
  card: CardInfo;
  pipeline?: PipelineEntry[];
  settings?: Partial<CardSettings>;
  /** Set only by continue-as-new: the state and unprocessed triggers carried over. */
  carried?: { state: CardState; inbox: Trigger[] };
}

/** A card's ask for slots of a pool, as its limiter keeps it. `firstRunId` tells a later execution of the same card apart. */
export interface SlotRequest {
  workflowId: string;
  firstRunId: string;
  pool: SlotPool;
  token: string;
  count: number;
  max: number;
}

/** What a limiter workflow knows: the slots it gave out and the asks waiting, first come first served. */
export interface LimiterState {
  max: number;
  holders: SlotRequest[];
  waiting: SlotRequest[];
}

export interface LimiterInput {
  limiter: string;
  /** How often, while slots are held, the holders are checked to still run (default 1 minute). */
  sweepEveryMs?: number;
  /** Set only by continue-as-new. */
  carried?: LimiterState;
}

export const acquireSignal = defineSignal<[SlotRequest]>('acquire');
export const releaseSignal = defineSignal<[{ workflowId: string; token: string }]>('release');
export const limiterQuery = defineQuery<LimiterState>('limiter');

/** A limiter's workflow ID: `limit:agents`, `limit:review:<provider>:<board>`. */
export function limiterWorkflowId(limiter: string): string {
  return `limit:${limiter}`;
}

/** Error types that retrying cannot fix (activities also mark their own as non-retryable). */
export const NON_RETRYABLE_ERRORS = ['LeaseRejectedError', 'BranchDivergedError', 'RepoNotAllowedError', 'InvalidCardRefError', 'UnsafeGitInputError', 'UnsafeRepositoryConfigError'];
