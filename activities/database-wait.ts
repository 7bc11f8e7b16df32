/**
 * Waiting out a Postgres outage inside an activity. An agent's bookkeeping (its `agent_runs` row) must not spend
 * the agent's attempts: a failed start would fail the card after a short outage, and a failed finish after the
 * agent succeeded would run the agent again. So a connection error is retried, heartbeating, until Postgres
 * answers or the activity is cancelled or times out; any other error is thrown at once.
 */
import { Context } from '@temporalio/activity';
import { isConnectionError } from '../src/db';
import type { Logger } from '../src/log';

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5_000;

/** `heartbeat` gives the details to heartbeat with while waiting (the activity's own, so none are lost). */
export async function untilDatabaseAnswers<T>(what: string, fn: () => Promise<T>, options: { log: Logger; heartbeat: () => unknown }): Promise<T> {
  const ctx = Context.current();
  const started = Date.now();
  for (let delay = FIRST_DELAY_MS, waited = false; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      const result = await fn();
      if (waited) options.log.info({ what, waitedMs: Date.now() - started }, 'Postgres answers again');
      return result;
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      if (!waited) options.log.warn({ what, error: (err as Error).message }, 'Postgres unreachable; waiting for it');
      waited = true;
    }
    ctx.heartbeat(options.heartbeat());
    // Rejects with a CancelledFailure when the activity is cancelled.
    await ctx.sleep(delay);
  }
}
