/**
 * Ouija's own tables as kysely sees them. Column names are snake_case, exactly as in Postgres, because
 * operators query these tables directly; the query modules map rows to camelCase records.
 *
 * Type notes: `Generated<T>` marks columns the database fills (serial IDs, defaults). Timestamps read back
 * as `Date` from both `pg` and PGlite; `numeric` reads back as a string from both, so it is typed so here.
 */
import type { ColumnType, Generated } from 'kysely';
import type { ColumnRole } from '../core/types';

/** A `timestamptz` with a `now()` default: read as Date, optional on insert. */
type CreatedAt = ColumnType<Date, Date | undefined, Date>;
/** A nullable `timestamptz` written by later updates. */
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export type DeliveryStatus = 'received' | 'accepted' | 'ignored';
export type AgentRunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'hung';
export type ReviewRequestState = 'open' | 'merged' | 'closed';

export interface BoardsTable {
  id: Generated<string>;
  name: string;
  /** The repository the cards on this board work on (remote URL or local path). */
  repo: string;
  base_branch: string | null;
  created_at: CreatedAt;
}

export interface BoardColumnsTable {
  board_id: string;
  key: string;
  name: string;
  role: ColumnRole;
  position: number;
}

export interface CardsTable {
  id: Generated<string>;
  board_id: string;
  title: string;
  body: string;
  column_key: string;
  /** Compare-and-set fence: every write bumps it. */
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface CardCommentsTable {
  id: Generated<number>;
  card_id: string;
  /** Idempotency key: one comment per (card, key). */
  comment_key: string;
  body: string;
  created_at: CreatedAt;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  source: string;
  delivery_id: string;
  event: string;
  card_key: string | null;
  status: Generated<DeliveryStatus>;
  body_bytes: number;
  received_at: CreatedAt;
  accepted_at: NullableTimestamp;
  note: string | null;
}

export interface WebhookRejectionsTable {
  id: Generated<number>;
  source: string;
  delivery_id: string | null;
  http_status: number;
  reason: string;
  body_bytes: number | null;
  remote_addr: string | null;
  created_at: CreatedAt;
}

export interface AgentRunsTable {
  id: Generated<number>;
  card_key: string;
  workflow_id: string;
  run_id: string;
  effect_id: string;
  step: string;
  attempt: number;
  agent: string;
  pid: number | null;
  started_at: CreatedAt;
  ended_at: NullableTimestamp;
  exit_code: number | null;
  outcome: AgentRunOutcome | null;
  summary: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_usd: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  /** Where a succeeded run left the worktree (null for other outcomes and runs recorded before 0003). */
  head_sha: string | null;
}

export type AgentEventType = 'progress' | 'session' | 'result' | 'stderr';

export interface AgentEventsTable {
  /** Increasing across runs: a card's events in `seq` order are its stream (the SSE cursor). */
  seq: Generated<number>;
  agent_run_id: number;
  at: CreatedAt;
  type: AgentEventType;
  message: string;
  tool: string | null;
  turn: number | null;
}

export interface ReviewRequestsTable {
  id: Generated<number>;
  forge: string;
  repo: string;
  branch: string;
  card_key: string;
  title: string;
  head_sha: string;
  url: string;
  state: Generated<ReviewRequestState>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface Database {
  boards: BoardsTable;
  board_columns: BoardColumnsTable;
  cards: CardsTable;
  card_comments: CardCommentsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_rejections: WebhookRejectionsTable;
  agent_runs: AgentRunsTable;
  agent_events: AgentEventsTable;
  review_requests: ReviewRequestsTable;
}
