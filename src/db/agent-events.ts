/**
 * Agents' progress events (live progress for operators). The agent activity appends them in batches; the
 * SSE route and `ouija logs` read a card's events after a cursor (`seq`), so any process can follow a card.
 */
import type { Kysely } from 'kysely';
import type { AgentEventType, Database } from './schema';

export interface NewAgentEvent {
  type: AgentEventType;
  message: string;
  tool?: string | null;
  turn?: number | null;
  /** When the agent printed it (default: when it is stored). */
  at?: Date;
}

/** One event of a card's stream, with the run it belongs to. */
export interface CardAgentEvent {
  /** The card stream's cursor: pass it back as `after` to get the events that follow. */
  seq: number;
  agentRunId: number;
  at: Date;
  type: AgentEventType;
  message: string;
  tool: string | null;
  turn: number | null;
  step: string;
  attempt: number;
  agent: string;
}

type Db = Kysely<Database>;
const DEFAULT_LIMIT = 500;

/** Appends events of one run in a single INSERT; `seq` follows the order given. */
export async function appendAgentEvents(db: Db, agentRunId: number, events: readonly NewAgentEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('agent_events')
    .values(
      events.map((e) => ({
        agent_run_id: agentRunId,
        type: e.type,
        message: e.message,
        tool: e.tool ?? null,
        turn: e.turn ?? null,
        ...(e.at ? { at: e.at } : {}),
      })),
    )
    .execute();
}

/** A card's events with `seq > after`, oldest first, at most `limit` of them. */
export async function listCardEvents(db: Db, cardKey: string, options: { after?: number; limit?: number } = {}): Promise<CardAgentEvent[]> {
  const rows = await db
    .selectFrom('agent_events as e')
    .innerJoin('agent_runs as r', 'r.id', 'e.agent_run_id')
    .select(['e.seq', 'e.agent_run_id', 'e.at', 'e.type', 'e.message', 'e.tool', 'e.turn', 'r.step', 'r.attempt', 'r.agent'])
    .where('r.card_key', '=', cardKey)
    .where('e.seq', '>', options.after ?? 0)
    .orderBy('e.seq')
    .limit(options.limit ?? DEFAULT_LIMIT)
    .execute();
  return rows.map((row) => ({
    seq: row.seq,
    agentRunId: row.agent_run_id,
    at: row.at,
    type: row.type,
    message: row.message,
    tool: row.tool,
    turn: row.turn,
    step: row.step,
    attempt: row.attempt,
    agent: row.agent,
  }));
}
