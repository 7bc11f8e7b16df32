/**
 * One row per agent process attempt: who ran what for which card, how it ended, and what it cost.
 * `ouija runs` and operators read it; the agent activity writes it.
 */
import type { Kysely, Selectable } from 'kysely';
import type { AgentRunOutcome, AgentRunsTable, Database } from './schema';

export interface AgentRun {
  id: number;
  cardKey: string;
  workflowId: string;
  runId: string;
  effectId: string;
  step: string;
  attempt: number;
  agent: string;
  pid: number | null;
  startedAt: Date;
  endedAt: Date | null;
  exitCode: number | null;
  outcome: AgentRunOutcome | null;
  summary: string | null;
  tokensIn: number | null;
  tokensOut: number | null;
  costUsd: number | null;
  headSha: string | null;
}

export interface AgentRunStart {
  cardKey: string;
  workflowId: string;
  /** Temporal run ID of the card workflow. */
  runId: string;
  effectId: string;
  step: string;
  /** Temporal activity attempt (1-based). */
  attempt: number;
  /** Adapter name (claude-code, codex, command…). */
  agent: string;
  pid?: number | null;
}

export interface AgentRunEnd {
  exitCode: number | null;
  outcome: AgentRunOutcome;
  summary?: string | null;
  tokensIn?: number | null;
  tokensOut?: number | null;
  costUsd?: number | null;
  /** Where a succeeded run left the worktree. */
  headSha?: string | null;
}

type Db = Kysely<Database>;
const DEFAULT_LIMIT = 100;

/**
 * Records the start of an attempt and returns its row ID. Idempotent per (workflow, run, effect, attempt):
 * recording the same attempt again returns the same row (updating the pid, the one thing that can change).
 */
export async function startAgentRun(db: Db, input: AgentRunStart): Promise<number> {
  const row = await db
    .insertInto('agent_runs')
    .values({
      card_key: input.cardKey,
      workflow_id: input.workflowId,
      run_id: input.runId,
      effect_id: input.effectId,
      step: input.step,
      attempt: input.attempt,
      agent: input.agent,
      pid: input.pid ?? null,
    })
    .onConflict((oc) =>
      oc.columns(['workflow_id', 'run_id', 'effect_id', 'attempt']).doUpdateSet((eb) => ({ pid: eb.ref('excluded.pid') })),
    )
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Records how the attempt ended. The first end wins; returns false if it had already ended (or no such run). */
export async function finishAgentRun(db: Db, id: number, end: AgentRunEnd): Promise<boolean> {
  const row = await db
    .updateTable('agent_runs')
    .set((eb) => ({ ...exitColumns(end), ended_at: eb.fn<Date>('now'), outcome: end.outcome, head_sha: end.headSha ?? null }))
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** How the agent process ended and what it cost, as columns (written at its exit and again at the run's end). */
function exitColumns(exit: Omit<AgentRunEnd, 'outcome' | 'headSha'>) {
  return {
    exit_code: exit.exitCode,
    summary: exit.summary ?? null,
    tokens_in: exit.tokensIn ?? null,
    tokens_out: exit.tokensOut ?? null,
    cost_usd: exit.costUsd ?? null,
  };
}

/**
 * Records that the attempt's agent process exited cleanly, before the activity judges its work: a worker that
 * dies in between leaves a row with an exit code and no outcome, and the step's retry finishes the judging
 * instead of running the agent again. Returns false if the run had already ended (or no such run).
 */
export async function recordAgentExit(db: Db, id: number, exit: Omit<AgentRunEnd, 'outcome' | 'headSha'>): Promise<boolean> {
  const row = await db
    .updateTable('agent_runs')
    .set(exitColumns(exit))
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The newest attempt of a step (workflow run + effect) whose agent process exited 0: either recorded as
 * succeeded, or left unjudged because its worker died after the exit (outcome null).
 */
export async function lastCleanExit(db: Db, step: { workflowId: string; runId: string; effectId: string }): Promise<AgentRun | undefined> {
  const row = await db
    .selectFrom('agent_runs')
    .selectAll()
    .where('workflow_id', '=', step.workflowId)
    .where('run_id', '=', step.runId)
    .where('effect_id', '=', step.effectId)
    .where('exit_code', '=', 0)
    .where((eb) => eb.or([eb('outcome', 'is', null), eb('outcome', '=', 'succeeded')]))
    .orderBy('attempt', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toAgentRun(row);
}

export async function getAgentRun(db: Db, id: number): Promise<AgentRun | undefined> {
  const row = await db.selectFrom('agent_runs').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toAgentRun(row);
}

/** Oldest first, optionally for one card; the newest `limit` runs. */
export async function listAgentRuns(db: Db, filter: { cardKey?: string; limit?: number } = {}): Promise<AgentRun[]> {
  let query = db.selectFrom('agent_runs').selectAll();
  if (filter.cardKey !== undefined) query = query.where('card_key', '=', filter.cardKey);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit ?? DEFAULT_LIMIT).execute();
  return rows.reverse().map(toAgentRun);
}

function toAgentRun(row: Selectable<AgentRunsTable>): AgentRun {
  return {
    id: row.id,
    cardKey: row.card_key,
    workflowId: row.workflow_id,
    runId: row.run_id,
    effectId: row.effect_id,
    step: row.step,
    attempt: row.attempt,
    agent: row.agent,
    pid: row.pid,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    exitCode: row.exit_code,
    outcome: row.outcome,
    summary: row.summary,
    tokensIn: row.tokens_in,
    tokensOut: row.tokens_out,
    // numeric comes back as a string from both drivers (exact decimal); a dollar amount fits a double.
    costUsd: row.cost_usd === null ? null : Number(row.cost_usd),
    headSha: row.head_sha,
  };
}
