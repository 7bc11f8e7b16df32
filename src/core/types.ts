/**
 * The card lifecycle's vocabulary: state, triggers (what happened) and effects (what to do next).
 * Pure data only: every value here is JSON-serialisable, because it travels through Temporal
 * (workflow arguments, signals, queries, continue-as-new) and through saved histories.
 */

export type Provider = 'builtin' | 'github' | 'linear' | 'trello';

/** Identifies a card on a board. Together these give the card key and the workflow ID. */
export interface CardRef {
  provider: Provider;
  boardId: string;
  cardId: string;
}

/** What Ouija knows about a card: enough to prepare a workspace and prompt an agent. */
export interface CardInfo {
  ref: CardRef;
  /** `cardKey(ref)`, kept beside the ref for logs and search attributes. */
  key: string;
  title: string;
  body: string;
  /** The repository the agent works on: an allow-listed remote URL or local path. */
  repo: string;
  /** Branch to start from when the card's branch does not exist yet; undefined = the remote's default. */
  baseBranch?: string;
}

/** What a board column means to Ouija. Provider plugins map their own columns onto these roles. */
export type ColumnRole = 'working' | 'review' | 'done' | 'other';

export type Phase =
  | 'idle' // not (yet) in the working column
  | 'preparing' // worktree and branch being made
  | 'working' // agent running step k of n
  | 'publishing' // push with lease, open or update the review request
  | 'review' // waiting for a human
  | 'revising' // changes requested: workspace again, then the agent with the feedback
  | 'done'
  | 'failed'
  | 'cancelled';

export const TERMINAL_PHASES: readonly Phase[] = ['idle', 'done', 'failed', 'cancelled'];
/** Phases in which a run is under way (an effect of the run may be in flight). */
export const ACTIVE_PHASES: readonly Phase[] = ['preparing', 'working', 'publishing', 'revising'];

export interface ReviewComment {
  author: string;
  body: string;
  /** File and line for inline review comments, when the forge gives them. */
  path?: string;
  line?: number;
}

/** The card's worktree and branch as the workspace effect reported them. */
export interface Workspace {
  path: string;
  branch: string;
  /** Commit the branch started from (commits are counted from here). */
  baseSha: string;
  /** What the remote's branch pointed at when last seen (null: not on the remote yet). Push lease. */
  remoteSha: string | null;
  /** Set on a parallel step's own worktree (its step name); its branch is local and merged, never pushed. */
  member?: string;
}

/** The review request (a pull request, or the built-in forge's record of one). */
export interface ReviewRequest {
  id: string;
  url: string;
  headSha: string;
}

/**
 * The kinds of lifecycle work. At most one is in flight per card; `group` is a parallel group's agents, which
 * run side by side (each in a worktree of its own) between the group's `prepareGroup` and `mergeGroup`.
 */
export type WorkKind = 'prepare' | 'agent' | 'publish' | 'cleanup' | 'prepareGroup' | 'group' | 'mergeGroup';

/** What a parallel group does when one of its steps fails for good. */
export type GroupFailurePolicy =
  | 'fail-fast' // cancel the group's other steps; the card fails
  | 'wait-all' // let the other steps finish (their work stays on their branches); the card fails
  | 'best-effort'; // keep the steps that succeeded and go on; the card fails only if every step failed

/** Steps that run at the same time. They share no state: each works in its own worktree, merged afterwards. */
export interface ParallelGroup {
  /** Names of consecutive steps of the pipeline (at least two). */
  steps: string[];
  onFailure: GroupFailurePolicy;
}

/** A pipeline as configured: a step, or a parallel group of steps. */
export type PipelineEntry = string | { parallel: string[]; onFailure?: GroupFailurePolicy };

/** One step of a parallel group in flight. */
export interface GroupMember {
  step: string;
  stepIndex: number;
  /** The member's runAgent effect ID. */
  effectId: string;
  /** Its own worktree, once `prepareGroup` has made it. */
  workspace: Workspace | null;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  summary?: string;
  error?: string;
}

export interface InFlight {
  effectId: string;
  kind: WorkKind;
  /** For agent effects: which pipeline step; for group work: the group's first step. */
  stepIndex?: number;
  /** For group work: its members, in pipeline order. */
  members?: GroupMember[];
}

export interface CardState {
  card: CardInfo;
  phase: Phase;
  /** Pipeline step names, in order (default: ['implement']). */
  pipeline: string[];
  /** Steps of `pipeline` that run in parallel (absent: none; states older than groups lack it). */
  groups?: ParallelGroup[];
  /** Index into `pipeline` of the step running or next to run. */
  stepIndex: number;
  /** Increments each time the card (re)starts in the working column; part of every effect ID. */
  run: number;
  /**
   * Fingerprint of the delivery that started the current run. Comment keys carry it, so that a run of a later
   * workflow execution of the same card (which counts runs from 1 again) never collides with an earlier one's.
   */
  runTag: string;
  /** Review round of the current run: 0 for the first pass, +1 per changes-requested. */
  round: number;
  /** Review comments the current revision must address (empty on the first pass). */
  feedback: ReviewComment[];
  /** The one lifecycle effect in flight, if any (invariant: at most one agent process per card). */
  inFlight: InFlight | null;
  workspace: Workspace | null;
  review: ReviewRequest | null;
  /** A restart asked for while the previous run was still stopping; honoured once it has stopped. */
  restartRequested: boolean;
  /** Delivery IDs already applied, oldest first, capped (the Postgres delivery log is the long memory). */
  deliveries: string[];
  lastError: string | null;
  /** Summary of the last agent step that succeeded. */
  lastSummary: string | null;
}

// ---------------------------------------------------------------------------------------------
// Triggers: everything that can happen to a card.

/** Triggers from outside (boards, forges, operators) carry a delivery ID so a repeat changes nothing. */
interface External {
  deliveryId: string;
}

export type BoardTrigger =
  | (External & { type: 'card.moved'; column: ColumnRole; card?: CardInfo })
  | (External & { type: 'card.edited'; card: CardInfo })
  | (External & { type: 'card.deleted' })
  | (External & { type: 'review.approved'; by?: string })
  | (External & { type: 'review.changesRequested'; comments: ReviewComment[] })
  | (External & { type: 'pr.merged' })
  | (External & { type: 'pr.closed' });

export type OperatorTrigger = (External & { type: 'operator.retry' }) | (External & { type: 'operator.cancel' });

export type ExternalTrigger = BoardTrigger | OperatorTrigger;

/** Results of lifecycle effects, fed back by the workflow. */
export type EffectResult =
  | { kind: 'prepare'; workspace: Workspace }
  | { kind: 'agent'; summary: string; commits: number; headSha: string; filesChanged: string[] }
  | { kind: 'publish'; review: ReviewRequest; remoteSha: string }
  | { kind: 'cleanup' }
  | { kind: 'prepareGroup'; workspaces: Record<string, Workspace> }
  | { kind: 'mergeGroup'; headSha: string; merged: string[] };

export type ResultTrigger =
  | { type: 'effect.succeeded'; effectId: string; result: EffectResult }
  | {
      type: 'effect.failed';
      effectId: string;
      error: string;
      /** False when retrying cannot help (the activity's retries are already spent, or it said so). */
      retryable: boolean;
      /** The effect stopped because it was cancelled (card left the working column). */
      cancelled?: boolean;
    };

export type Trigger = ExternalTrigger | ResultTrigger;

// ---------------------------------------------------------------------------------------------
// Effects: what the workflow must do. Lifecycle effects carry an effectId and answer with a ResultTrigger.

export type Effect =
  | { type: 'prepareWorkspace'; effectId: string; card: CardInfo; branch: string }
  | {
      type: 'runAgent';
      effectId: string;
      card: CardInfo;
      step: string;
      stepIndex: number;
      round: number;
      feedback: ReviewComment[];
      workspace: Workspace;
    }
  | { type: 'publish'; effectId: string; card: CardInfo; workspace: Workspace; round: number }
  | { type: 'cleanupWorkspace'; effectId: string; card: CardInfo; workspace: Workspace }
  /** Worktrees for a parallel group's steps, each on a local branch from the card's HEAD. */
  | { type: 'prepareGroup'; effectId: string; card: CardInfo; workspace: Workspace; steps: string[] }
  /** Merge the steps' branches (in pipeline order) into the card's branch; remove their worktrees. */
  | { type: 'mergeGroup'; effectId: string; card: CardInfo; workspace: Workspace; merge: string[]; discard: string[] }
  /** Cancel the in-flight lifecycle effect; its (failed, cancelled) result still comes back. */
  | { type: 'cancelEffect'; effectId: string }
  // Fire-and-forget (idempotent, retried by their own activities; no result trigger):
  | { type: 'moveCard'; card: CardInfo; column: ColumnRole }
  | { type: 'comment'; card: CardInfo; commentKey: string; text: string }
  | { type: 'notify'; card: CardInfo; event: string; text: string };

export type LifecycleEffect = Extract<Effect, { effectId: string }> & { type: Exclude<Effect['type'], 'cancelEffect'> };

export interface TransitionResult {
  state: CardState;
  effects: Effect[];
  /** Why the trigger changed nothing (or only recorded its delivery ID); undefined when it applied. */
  ignored?: string;
}
