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
  | 'queued' // waiting for a cluster-wide slot: an agent slot before a step, a review slot before publishing
  | 'working' // agent running step k of n
  | 'publishing' // push with lease, open or update the review request
  | 'review' // waiting for a human
  | 'revising' // changes requested: workspace again, then the agent with the feedback
  | 'done'
  | 'failed'
  | 'cancelled';

export const TERMINAL_PHASES: readonly Phase[] = ['idle', 'done', 'failed', 'cancelled'];
/** Phases in which a run is under way (an effect of the run may be in flight). */
export const ACTIVE_PHASES: readonly Phase[] = ['preparing', 'queued', 'working', 'publishing', 'revising'];

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
  /**
   * The host whose disk holds the worktree (set by the workspace activity that made it): every later activity
   * on it runs on that host's own task queues. Absent: made by a worker from before host affinity.
   */
  host?: string;
  /** HEAD after the last step that changed it (agent or merge): what publishing pushes. */
  headSha?: string;
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
export type WorkKind = 'prepare' | 'agent' | 'publish' | 'cleanup' | 'prepareGroup' | 'group' | 'mergeGroup' | 'slot';

/**
 * Cluster-wide limits, each a pool of slots held by card workflows (see docs/ARCHITECTURE.md, "Limits"):
 * `agents`, agent processes at once across every host; `review`, cards of one board waiting in review.
 */
export type SlotPool = 'agents' | 'review';

export interface CardLimits {
  /** Agent processes at once across the cluster (`agent.maxConcurrent`). */
  agents: number;
  /** Cards of this card's board in review at once (`review.maxCards`); null: no limit. */
  review: number | null;
}

/** A slot the card holds; `token` is the ID of the wait that got it. */
export interface HeldSlot {
  pool: SlotPool;
  token: string;
}

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

/** The lifecycle work a card waits on: one effect, or one parallel group's. Tagged by `kind`. */
export type InFlight =
  | { kind: 'prepare' | 'publish' | 'cleanup'; effectId: string }
  /** One pipeline step's agent. */
  | { kind: 'agent'; effectId: string; stepIndex: number }
  /**
   * A parallel group (its first step at `stepIndex`; members in pipeline order): being prepared, running, or being
   * merged. `hostLost`: a member's host was lost; once every member has stopped, the run moves to another host.
   */
  | { kind: 'prepareGroup' | 'group' | 'mergeGroup'; effectId: string; stepIndex: number; members: GroupMember[]; hostLost?: true }
  /** Waiting for a slot of `pool` (the effect ID is the wait's token); granted, the step at `stepIndex` or publishing begins. */
  | { kind: 'slot'; effectId: string; pool: SlotPool; stepIndex: number };

export type GroupWork = Extract<InFlight, { members: GroupMember[] }>;

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
  /**
   * The cluster-wide limits the card honours. Present in states of workflows started under the
   * `ouija-cluster-limits` patch; older states have none and take no slots.
   */
  limits?: CardLimits;
  /** Slots held now: an agent slot while a step's agents run, the review slot from publishing to the run's end. */
  slots?: HeldSlot[];
  /** How often this run lost the host holding its worktree and moved to another; part of effect IDs once > 0. */
  moves?: number;
  /**
   * Set when the run moved while publishing: the commit that was being pushed. If the new host finds the remote
   * branch at it, the push had landed and publishing resumes without running the steps again.
   */
  resumeAt?: string;
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
      /** The host holding the card's worktree stopped taking its tasks (schedule-to-start or heartbeat timeout). */
      hostLost?: boolean;
    };

/** A pool's limiter granted the slot the card asked for (token: the wait's effect ID). */
export type SlotTrigger = { type: 'slot.granted'; pool: SlotPool; token: string };

export type Trigger = ExternalTrigger | ResultTrigger | SlotTrigger;

// ---------------------------------------------------------------------------------------------
// Effects: what the workflow must do. Lifecycle effects carry an effectId and answer with a ResultTrigger.

export type Effect =
  /**
   * `host`: the host that holds the card's worktree (a revision); absent, any host takes it. `fresh`: start from
   * what the remote has, discarding whatever a host has left of the card (start of a run, or a move).
   */
  | { type: 'prepareWorkspace'; effectId: string; card: CardInfo; branch: string; host?: string; fresh?: true }
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
  /**
   * Ask the limiter of pool `limiter` (one per cluster for agents, one per board for review) for `count` slots of
   * `max`; the grant comes back as a slot.granted trigger. `releaseSlot` gives a held slot back, or withdraws the ask.
   */
  | { type: 'acquireSlot'; pool: SlotPool; limiter: string; token: string; count: number; max: number }
  | { type: 'releaseSlot'; pool: SlotPool; limiter: string; token: string }
  // Fire-and-forget (idempotent, retried by their own activities; no result trigger):
  | { type: 'moveCard'; card: CardInfo; column: ColumnRole }
  | { type: 'comment'; card: CardInfo; commentKey: string; text: string }
  | { type: 'notify'; card: CardInfo; event: string; text: string };

export type LifecycleEffect = Extract<Effect, { effectId: string }> & { type: Exclude<Effect['type'], 'cancelEffect'> };

/** The effects that run as activities and answer with a result trigger (the rest are fire-and-forget). */
export const LIFECYCLE_EFFECT_TYPES = ['prepareWorkspace', 'runAgent', 'publish', 'cleanupWorkspace', 'prepareGroup', 'mergeGroup'] as const satisfies readonly LifecycleEffect['type'][];
/** Compile-time check that the list above names every lifecycle effect. */
export const LIFECYCLE_LIST_IS_COMPLETE: Exclude<LifecycleEffect['type'], (typeof LIFECYCLE_EFFECT_TYPES)[number]> extends never ? true : never = true;

/** Effects that change the card on its board or tell people: run in order per queue, awaited before the workflow ends. */
export type BackgroundEffect = Extract<Effect, { type: 'moveCard' | 'comment' | 'notify' }>;
/** Effects that talk to a pool's limiter: in order, awaited before the workflow ends. */
export type SlotEffect = Extract<Effect, { type: 'acquireSlot' | 'releaseSlot' }>;

export interface TransitionResult {
  state: CardState;
  effects: Effect[];
  /** Why the trigger changed nothing (or only recorded its delivery ID); undefined when it applied. */
  ignored?: string;
}
