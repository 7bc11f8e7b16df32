/** What a card's agents cost: tokens and dollars summed over every run of the card (failed attempts included). */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

export interface CardTotals {
  /** Agent runs (attempts) recorded for the card. */
  runs: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  /** Runs that reported no cost (an agent that does not say, or one that died first): the total is a lower bound. */
  runsWithoutCost: number;
}

export async function cardTotals(db: Kysely<Database>, cardKey: string): Promise<CardTotals> {
  // Aggregates come back as strings (bigint / numeric) from both drivers: cast in SQL, convert here.
  const row = await db
    .selectFrom('agent_runs')
    .select([
      sql<string>`count(*)`.as('runs'),
      sql<string>`coalesce(sum(tokens_in), 0)`.as('tokens_in'),
      sql<string>`coalesce(sum(tokens_out), 0)`.as('tokens_out'),
      sql<string>`coalesce(sum(cost_usd), 0)`.as('cost_usd'),
      sql<string>`count(*) filter (where cost_usd is null)`.as('runs_without_cost'),
    ])
    .where('card_key', '=', cardKey)
    .executeTakeFirstOrThrow();
  return {
    runs: Number(row.runs),
    tokensIn: Number(row.tokens_in),
    tokensOut: Number(row.tokens_out),
    costUsd: Number(row.cost_usd),
    runsWithoutCost: Number(row.runs_without_cost),
  };
}
