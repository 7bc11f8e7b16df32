/**
 * Scenario 9, Postgres stopped during a storm: signed deliveries (cards moved to the working column), each sent
 * by several copies at random times over a window in whose middle this scenario's own Postgres server is stopped
 * for `pgdown-seconds`. Every copy behaves like a webhook sender: any non-2xx (or no answer) is retried, after the
 * Retry-After it was given, until a 2xx. Expected: while Postgres is down no request is answered 2xx (503 with
 * Retry-After instead) and /readyz says not ready; every 2xx is backed by an accepted delivery-log row written
 * before it was sent; Ouija keeps running and serves again once Postgres is back; afterwards every delivery has
 * been applied exactly once (its ID once in the card's state, run 1, one agent run) and replays are duplicates.
 *
 * Sizes (`--set`): pgdown-deliveries (200), pgdown-copies (3), pgdown-seconds (30), pgdown-before-seconds (8,
 * storm time before the stop), pgdown-after-seconds (12, storm time after the restart).
 */
import { workflowIdForCard } from '../../../src/core/cards';
import { getDelivery, listAgentRuns } from '../../../src/db';
import { signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import { startHarness, type Harness } from '../../support/ouija-harness';
import { startTestPostgres } from '../../support/postgres-server';
import type { Row } from '../report';
import { RELIABILITY_SECRETS, size, type Scenario } from './scenario';
import { baseUrl, pool, sleep } from './send';

interface Attempt {
  deliveryId: string;
  copy: number;
  attempt: number;
  status: number | 'network-error';
  /** The JSON body's `status` (accepted / duplicate / ignored) or error. */
  outcome: string | undefined;
  retryAfter: string | null;
  startedAt: number;
  endedAt: number;
}

interface Card {
  cardKey: string;
  deliveryId: string;
  body: string;
}

/** One POST of a delivery, as a sender makes it. */
async function postOnce(url: string, card: Card, copy: number, attempt: number): Promise<Attempt> {
  const headers = { 'content-type': 'application/json', 'x-ouija-delivery': card.deliveryId, 'x-ouija-signature': signBuiltinBody(RELIABILITY_SECRETS.builtin, card.body) };
  const startedAt = Date.now();
  const a: Attempt = { deliveryId: card.deliveryId, copy, attempt, status: 'network-error', outcome: undefined, retryAfter: null, startedAt, endedAt: startedAt };
  try {
    const res = await fetch(`${url}/webhooks/builtin`, { method: 'POST', headers, body: card.body, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    a.status = res.status;
    a.retryAfter = res.headers.get('retry-after');
    try {
      const json = JSON.parse(text) as { status?: string; error?: string };
      a.outcome = json.status ?? json.error;
    } catch {
      a.outcome = text.slice(0, 100);
    }
  } catch (err) {
    a.outcome = (err as Error).message;
  }
  a.endedAt = Date.now();
  return a;
}

const is2xx = (a: Attempt) => typeof a.status === 'number' && a.status >= 200 && a.status < 300;

/** One webhook sender's delivery: POST, and on anything but a 2xx wait (Retry-After if given) and POST again. */
async function sendUntil2xx(url: string, card: Card, copy: number, deadline: number, attempts: Attempt[]): Promise<Attempt | undefined> {
  for (let attempt = 1; ; attempt++) {
    const a = await postOnce(url, card, copy, attempt);
    attempts.push(a);
    if (is2xx(a)) return a;
    if (Date.now() > deadline) return undefined;
    const retryAfterS = Number(a.retryAfter);
    const waitMs = Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : 1000;
    await sleep(waitMs * (1 + Math.random() * 0.2));
  }
}

async function readyz(url: string): Promise<{ status: number | 'network-error'; body: unknown }> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await res.json().catch(() => null) };
  } catch (err) {
    return { status: 'network-error', body: (err as Error).message };
  }
}

export const postgresDown: Scenario = {
  name: 'postgres-down',
  async run({ params }) {
    const n = size(params, 'pgdown-deliveries', 200);
    const copies = size(params, 'pgdown-copies', 3);
    const outageMs = size(params, 'pgdown-seconds', 30) * 1000;
    const beforeMs = size(params, 'pgdown-before-seconds', 8) * 1000;
    const afterMs = size(params, 'pgdown-after-seconds', 12) * 1000;

    // This scenario's own server (the runner's harness is on the shared one, which must stay up).
    const pg = await startTestPostgres();
    const crashes: string[] = [];
    const onUnhandled = (err: unknown) => crashes.push(`unhandledRejection: ${(err as Error)?.message ?? String(err)}`);
    const onUncaught = (err: Error) => crashes.push(`uncaughtException: ${err.stack?.slice(0, 400) ?? err.message}`);
    let h: Harness | undefined;
    try {
      const harness = await startHarness(
        { agent: { maxConcurrent: 4 }, secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin, githubWebhook: RELIABILITY_SECRETS.github } },
        { databaseServerUrl: pg.url },
      );
      h = harness;
      const board = await harness.api('POST', '/api/boards', { id: 'pgdown', name: 'Postgres down', repo: harness.remote });
      if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
      const cards = await pool(Array.from({ length: n }, (_, i) => i), 8, async (i): Promise<Card> => {
        const card = await harness.api('POST', `/api/boards/${board.body.id}/cards`, { title: `pgdown ${i}`, body: '' });
        if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
        const body = JSON.stringify({ type: 'card.moved', boardId: board.body.id, cardId: card.body.id, column: 'in-progress' });
        return { cardKey: `builtin:${board.body.id}:${card.body.id}`, deliveryId: `pgdown-${i}`, body };
      });
      const url = baseUrl(harness);
      process.on('unhandledRejection', onUnhandled);
      process.on('uncaughtException', onUncaught);

      // The storm: every copy's first POST at a random time in the window; the outage in its middle.
      const windowMs = beforeMs + outageMs + afterMs;
      const started = Date.now();
      const deadline = started + windowMs + 180_000;
      const attempts: Attempt[] = [];
      const senders = cards.flatMap((c) =>
        Array.from({ length: copies }, async (_, copy) => {
          await sleep(Math.random() * windowMs);
          return sendUntil2xx(url, c, copy, deadline, attempts);
        }),
      );
      await sleep(beforeMs);
      const stopAt = Date.now();
      await pg.stopServer();
      const downAt = Date.now();
      await sleep(outageMs / 2);
      const readyDuring = await readyz(url);
      await sleep(Math.max(0, downAt + outageMs - Date.now()));
      const restartAt = Date.now();
      await pg.startServer();
      const upAt = Date.now();
      let readyAfter = await readyz(url);
      while (readyAfter.status !== 200 && Date.now() < upAt + 60_000) {
        await sleep(250);
        readyAfter = await readyz(url);
      }
      const readyAfterMs = Date.now() - upAt;
      const successes = await Promise.all(senders);
      const stormMs = Date.now() - started;

      // Every card at rest (the demo agent is quick), then every delivery replayed once more.
      const states = await pool(cards, 8, (c) => harness.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', `${c.cardKey} at rest`, 15 * 60_000).catch(() => undefined));
      const replays = await pool(cards, 16, (c) => postOnce(url, c, -1, 1));

      const perCard = await pool(cards, 8, async (c, i) => {
        const state = await harness.state(c.cardKey);
        const runs = await listAgentRuns(harness.database.db, { cardKey: c.cardKey, limit: 10 });
        const history = await harness.ouija.temporal.workflow.getHandle(workflowIdForCard(c.cardKey)).fetchHistory();
        let agentActivities = 0;
        for (const e of history.events ?? []) if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent') agentActivities++;
        const delivery = await getDelivery(harness.database.db, { source: 'builtin', deliveryId: c.deliveryId });
        return {
          card: c.cardKey,
          phase: states[i]?.phase ?? state.phase,
          run: state.run,
          seen: state.deliveries.filter((d) => d === c.deliveryId).length,
          agentRuns: runs.length,
          agentOutcomes: runs.map((r) => r.outcome),
          agentActivities,
          logged: delivery?.status,
          acceptedAt: delivery?.acceptedAt?.getTime(),
          lastError: state.lastError,
        };
      });
      const byDelivery = new Map(perCard.map((p, i) => [cards[i]!.deliveryId, p]));

      // Answers while Postgres was certainly down: the request began after the postmaster exited and ended
      // before it was started again (any 2xx there was given without Postgres).
      const duringOutage = attempts.filter((a) => a.startedAt >= downAt && a.endedAt <= restartAt);
      const outage2xx = duringOutage.filter(is2xx);
      const outageRefusals = duringOutage.filter((a) => !is2xx(a));
      const outage503WithRetryAfter = outageRefusals.filter((a) => a.status === 503 && a.retryAfter !== null).length;
      // Every 2xx (to any attempt, in or out of the outage) backed by an accepted row committed before it was sent.
      const given2xx = attempts.filter(is2xx);
      const unbacked = given2xx.filter((a) => {
        const p = byDelivery.get(a.deliveryId);
        return !p || p.logged !== 'accepted' || p.acceptedAt === undefined || p.acceptedAt > a.endedAt || p.seen !== 1;
      });
      const gaveUp = successes.filter((s) => s === undefined).length;
      const oneTransition = perCard.filter((p) => p.seen === 1 && p.run === 1).length;
      const atReview = perCard.filter((p) => p.phase === 'review').length;
      const oneAgent = perCard.filter((p) => p.agentRuns === 1 && p.agentActivities === 1).length;
      const logComplete = perCard.filter((p) => p.logged === 'accepted').length;
      const replayDuplicates = replays.filter((r) => r.status === 202 && r.outcome === 'duplicate').length;
      const bad = perCard.filter((p) => p.seen !== 1 || p.run !== 1 || p.phase !== 'review' || p.agentRuns !== 1 || p.agentActivities !== 1 || p.logged !== 'accepted');
      const phases = tally(perCard.map((p) => p.phase));
      const readyDuringPostgres = (readyDuring.body as { postgres?: string } | null)?.postgres;
      const outageS = Math.round((restartAt - stopAt) / 1000);
      const figures = {
        stopAt, downAt, restartAt, upAt, started, stormMs, readyAfterMs, readyDuring, readyAfter,
        statusesBefore: tally(attempts.filter((a) => a.endedAt < downAt).map((a) => a.status)),
        statusesDuring: tally(duringOutage.map((a) => `${a.status} ${a.outcome ?? ''}`.trim())),
        statusesAfter: tally(attempts.filter((a) => a.startedAt > restartAt).map((a) => a.status)),
      };

      return [
        {
          scenario: '9 postgres down: answers',
          runs: attempts.length,
          expected: `every sender (${n} × ${copies}) gets a 2xx, retrying`,
          observed: `${successes.length - gaveUp}/${successes.length} got one; ${JSON.stringify(tally(attempts.map((a) => a.status)))} in ${Math.round(stormMs / 1000)} s; max ${Math.max(0, ...attempts.map((a) => a.attempt))} attempts`,
          pass: gaveUp === 0,
          details: figures,
        },
        {
          scenario: '9 postgres down: during outage',
          runs: duringOutage.length,
          expected: `0 2xx while down (${outageS} s); 503 + Retry-After`,
          observed: `${outage2xx.length} 2xx; ${outage503WithRetryAfter}/${outageRefusals.length} refusals 503 with Retry-After; ${JSON.stringify(tally(duringOutage.map((a) => a.status)))}`,
          pass: duringOutage.length > 0 && outage2xx.length === 0 && outage503WithRetryAfter === outageRefusals.length,
          details: { outage2xx: outage2xx.slice(0, 20), other: outageRefusals.filter((a) => a.status !== 503 || a.retryAfter === null).slice(0, 20) },
        },
        {
          scenario: '9 postgres down: 2xx means recorded',
          runs: given2xx.length,
          expected: 'accepted row before every 2xx, applied',
          observed: `${given2xx.length - unbacked.length}/${given2xx.length} backed`,
          pass: unbacked.length === 0,
          details: unbacked.slice(0, 20).map((a) => ({ ...a, card: byDelivery.get(a.deliveryId) })),
        },
        {
          scenario: '9 postgres down: Ouija survives',
          runs: 1,
          expected: '/readyz 503 while down, 200 after; no crash',
          observed: `during: ${readyDuring.status} (postgres: ${String(readyDuringPostgres).slice(0, 40)}); after: ${readyAfter.status} ${readyAfterMs} ms after restart; ${crashes.length} uncaught errors`,
          pass: readyDuring.status === 503 && readyDuringPostgres !== 'ok' && readyAfter.status === 200 && crashes.length === 0,
          details: { crashes: crashes.slice(0, 20), readyDuring, readyAfter },
        },
        {
          scenario: '9 postgres down: transitions',
          runs: n,
          expected: '1 per delivery, none lost',
          observed: `${oneTransition}/${n} exactly once; phases ${JSON.stringify(phases)}`,
          pass: oneTransition === n && atReview === n,
          details: bad.slice(0, 50),
        },
        {
          scenario: '9 postgres down: agent runs',
          runs: n,
          expected: '1 per card move',
          observed: `${oneAgent}/${n} cards with exactly 1`,
          pass: oneAgent === n,
        },
        {
          scenario: '9 postgres down: log and replays',
          runs: n,
          expected: '1 accepted row each; replays duplicate',
          observed: `${logComplete}/${n} accepted; ${replayDuplicates}/${n} replays duplicate`,
          pass: logComplete === n && replayDuplicates === n,
        },
      ] satisfies Row[];
    } finally {
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUncaught);
      // Started again if a failure left it stopped, so the harness can drop its database.
      await pg.startServer().catch(() => undefined);
      await h?.stop().catch(() => undefined);
      await pg.stop();
    }
  },
};

function tally(values: Array<number | string | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
