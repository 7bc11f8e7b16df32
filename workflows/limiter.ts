/**
 * A pool of slots shared by card workflows across the cluster: `limit:agents` (agent processes at once, across
 * every host) and `limit:review:<board>` (cards of a board waiting in review). One workflow per pool holds who
 * has a slot and who waits, first come first served; card workflows ask and give back with signals (through the
 * `signalLimiter` local activity, which starts the limiter when it is not running), and a grant reaches the card
 * as a `slot.granted` trigger.
 *
 * Durable because it is a workflow: its state survives worker and server restarts. Slots belong to card
 * workflows, not to hosts, so a host that dies leaks none (its cards give their slots back when they move). A card
 * workflow that cannot give back (terminated by an operator) is found by the sweep: every minute while slots are
 * held, `staleSlotHolders` checks that each holder's workflow still runs. The limiter ends when nothing is held
 * or waiting, and continues as new before its history grows long.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { LimiterActivities } from '../activities/types';
import { acquireSignal, limiterQuery, releaseSignal, triggerSignal, type LimiterInput, type LimiterState, type SlotRequest } from './messages';

const SWEEP_EVERY_MS = 60_000;
const CONTINUE_AS_NEW_AFTER_EVENTS = 2_000;

const { staleSlotHolders } = proxyActivities<LimiterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export async function limiterWorkflow(input: LimiterInput): Promise<void> {
  const state: LimiterState = input.carried ?? { max: 1, holders: [], waiting: [] };
  let changed = true;
  let sweeping = false;
  /** Grants sent but not yet confirmed delivered: waited for before the run ends or continues as new. */
  let granting = 0;

  // Tokens are effect IDs, unique within a card's workflow only: a slot is named by the workflow and the token.
  const same = (a: Pick<SlotRequest, 'workflowId' | 'token'>) => (b: SlotRequest) => a.workflowId === b.workflowId && a.token === b.token;
  const known = (request: SlotRequest) => state.holders.some(same(request)) || state.waiting.some(same(request));
  setHandler(acquireSignal, (request) => {
    state.max = request.max;
    if (!known(request)) state.waiting.push(request);
    changed = true;
  });
  setHandler(releaseSignal, (slot) => {
    const other = (r: SlotRequest) => !same(slot)(r);
    state.holders = state.holders.filter(other);
    state.waiting = state.waiting.filter(other);
    changed = true;
  });
  setHandler(limiterQuery, () => state);

  /** Tells the card; a card workflow that is gone cannot take it, so its slot is free again. */
  const grant = async (request: SlotRequest): Promise<void> => {
    granting++;
    try {
      await getExternalWorkflowHandle(request.workflowId).signal(triggerSignal, { type: 'slot.granted', pool: request.pool, token: request.token });
    } catch (err) {
      log.warn('slot holder unreachable; slot freed', { limiter: input.limiter, workflowId: request.workflowId, token: request.token, error: (err as Error).message });
      state.holders = state.holders.filter((r) => !same(request)(r));
      changed = true;
    } finally {
      granting--;
    }
  };
  const settled = () => granting === 0 && allHandlersFinished();

  const sweep = async (): Promise<void> => {
    for (;;) {
      await sleep(input.sweepEveryMs ?? SWEEP_EVERY_MS);
      if (state.holders.length === 0) continue;
      const holders = state.holders.map(({ workflowId, firstRunId, token }) => ({ workflowId, firstRunId, token }));
      const stale = new Set(await staleSlotHolders(holders));
      if (stale.size === 0) continue;
      log.warn('slots of card workflows that no longer run freed', { limiter: input.limiter, workflows: [...stale] });
      state.holders = state.holders.filter((r) => !stale.has(r.workflowId));
      changed = true;
    }
  };

  for (;;) {
    await condition(() => changed);
    changed = false;
    // First come, first served: the oldest ask goes first, and a later small one does not overtake it. An ask for
    // more slots than the pool has (a parallel group wider than the limit) is served when nothing else is held.
    while (state.waiting.length > 0) {
      const next = state.waiting[0]!;
      const held = state.holders.reduce((n, r) => n + r.count, 0);
      if (held > 0 && held + next.count > state.max) break;
      state.waiting.shift();
      state.holders.push(next);
      void grant(next);
    }
    if (state.holders.length === 0 && state.waiting.length === 0) {
      await condition(settled);
      if (!changed) return;
      continue;
    }
    if (!sweeping) {
      sweeping = true;
      void sweep();
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= CONTINUE_AS_NEW_AFTER_EVENTS) {
      await condition(settled);
      return await continueAsNew<typeof limiterWorkflow>({ ...input, carried: state });
    }
  }
}
