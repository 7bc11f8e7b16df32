/**
 * The reconciler: a lost webhook delays a card, never loses it. Every interval (jittered, never overlapping)
 * it asks each board source for its cards in working and review columns, describes each card's workflow,
 * and sends every card that is out of step (outOfStep) a synthetic `card.moved` through the same ingest
 * path as a webhook. The delivery ID names the board state (`reconcile:<card key>:<role>:<version>`), so
 * repeated passes over an unchanged board are answered as duplicates by the delivery log.
 */
import type { ColumnRole } from '../core/types';
import { ingest, type IngestDeps } from '../ingest';
import { countReconcileSignalled } from '../metrics';
import { changeTimeDecides, outOfStep } from './out-of-step';
import type { BoardSnapshot, SnapshotEntry } from './types';
import { describeCardWorkflow } from './workflow-view';

export const RECONCILE_SOURCE = 'reconcile';

export interface PassSummary {
  /** Cards the sources listed. */
  checked: number;
  /** Cards out of step whose synthetic delivery was accepted (a workflow was signalled or started). */
  signalled: number;
  /** Out of step, but the delivery was a duplicate (an earlier pass sent it) or ignored by ingest. */
  unchanged: number;
  /** Sources or cards that failed this pass (logged; the next pass tries again). */
  errors: number;
}

export function reconcileDeliveryId(cardKey: string, role: ColumnRole, version: string): string {
  return `${RECONCILE_SOURCE}:${cardKey}:${role}:${version}`;
}

/** One pass over every source. Never throws: a failing source or card is logged and skipped. */
export async function reconcileOnce(deps: IngestDeps, sources: readonly BoardSnapshot[]): Promise<PassSummary> {
  const summary: PassSummary = { checked: 0, signalled: 0, unchanged: 0, errors: 0 };
  for (const source of sources) {
    let entries: SnapshotEntry[];
    try {
      entries = await source.list();
    } catch (err) {
      summary.errors++;
      deps.log.warn({ err, source: source.source }, 'reconcile: board source failed; skipped this pass');
      continue;
    }
    for (const entry of entries) {
      summary.checked++;
      try {
        const outcome = await reconcileCard(deps, source.source, entry);
        if (outcome === 'accepted') summary.signalled++;
        else if (outcome !== 'in-step') summary.unchanged++;
      } catch (err) {
        summary.errors++;
        deps.log.warn({ err, source: source.source, card: entry.card.key }, 'reconcile: card check failed; skipped this pass');
      }
    }
  }
  deps.log.info({ ...summary, sources: sources.map((s) => s.source) }, 'reconcile pass');
  return summary;
}

async function reconcileCard(deps: IngestDeps, source: string, listed: SnapshotEntry): Promise<'in-step' | 'accepted' | 'duplicate' | 'ignored'> {
  const workflow = await describeCardWorkflow(deps.temporal, listed.card.key);
  const entry = listed.enteredColumn && changeTimeDecides(listed.role, workflow) ? { ...listed, ...(await listed.enteredColumn()) } : listed;
  const reason = outOfStep(entry, workflow);
  if (reason === null) return 'in-step';
  const deliveryId = reconcileDeliveryId(entry.card.key, entry.role, entry.version);
  const outcome = await ingest(deps, {
    source: RECONCILE_SOURCE,
    deliveryId,
    event: 'card.moved',
    bodyBytes: 0,
    card: entry.card,
    trigger: { type: 'card.moved', deliveryId, column: entry.role, card: entry.card },
  });
  if (outcome.status === 'accepted') {
    countReconcileSignalled(source, entry.role);
    deps.log.info({ source, card: entry.card.key, deliveryId, reason }, 'reconcile: card out of step, signalled');
  }
  return outcome.status;
}

export interface ReconcilerOptions {
  deps: IngestDeps;
  sources: readonly BoardSnapshot[];
  /** Mean time between the end of one pass and the start of the next; must be > 0. */
  intervalMs: number;
  /** Each wait is intervalMs × (1 ± jitter), so replicas of the front end drift apart. Default 0.2. */
  jitter?: number;
}

export interface Reconciler {
  /** Runs a pass now (or waits for the one under way): the loop's timing is unchanged. */
  runNow(): Promise<PassSummary>;
  /** Stops the loop and waits for a pass under way to finish. */
  stop(): Promise<void>;
}

export function startReconciler(options: ReconcilerOptions): Reconciler {
  const { deps, sources, intervalMs } = options;
  if (!(intervalMs > 0)) throw new RangeError(`reconcile interval must be > 0 ms, got ${intervalMs}`);
  const jitter = options.jitter ?? 0.2;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<PassSummary> | null = null;
  let stopped = false;

  // Passes never overlap: a pass asked for while one runs shares it.
  const pass = (): Promise<PassSummary> => {
    current ??= reconcileOnce(deps, sources).finally(() => {
      current = null;
    });
    return current;
  };
  const schedule = (): void => {
    if (stopped) return;
    const wait = intervalMs * (1 - jitter + 2 * jitter * Math.random());
    timer = setTimeout(() => {
      timer = null;
      void pass().finally(schedule);
    }, wait);
    // The loop alone must not keep a process alive that is otherwise done.
    timer.unref();
  };
  schedule();

  return {
    runNow: pass,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await current;
    },
  };
}
