/**
 * Ouija's own Prometheus metrics: one prom-client registry per process, served by `GET /metrics`
 * (src/http/metrics-route.ts) together with the Temporal SDK's metrics, whose exporter address the worker
 * runtime records here. docs/OBSERVABILITY.md lists every metric and what it means.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTIVE_PHASES, TERMINAL_PHASES, type Phase } from './core/types';

export const registry = new Registry();

// Process health (CPU, memory, event-loop lag, handles) comes for free and is computed on scrape.
collectDefaultMetrics({ register: registry, prefix: 'ouija_' });

/** How a delivery was answered. `rejected_<status>` (400, 401, 413) and `unavailable` (503) are the webhook's refusals. */
export type DeliveryOutcome = 'accepted' | 'duplicate' | 'ignored' | `rejected_${number}` | 'unavailable';

export const deliveries = new Counter({
  name: 'ouija_deliveries_total',
  help: 'Board, forge and operator deliveries by source and outcome (accepted, duplicate, ignored, rejected_400/401/413, unavailable = answered 503 so the sender retries).',
  labelNames: ['source', 'outcome'] as const,
  registers: [registry],
});

export function countDelivery(source: string, outcome: DeliveryOutcome): void {
  deliveries.inc({ source, outcome });
}

/** Every phase a card can be in, so the gauge shows zeros instead of missing series. */
export const ALL_PHASES: readonly Phase[] = [...ACTIVE_PHASES, 'review', ...TERMINAL_PHASES];

export const cardsByPhase = new Gauge({
  name: 'ouija_cards',
  help: 'Cards with a running workflow, by phase (Temporal visibility counts, refreshed at most every few seconds).',
  labelNames: ['phase'] as const,
  registers: [registry],
});

export const agentRunDuration = new Histogram({
  name: 'ouija_agent_run_duration_seconds',
  help: 'Wall time of one agent run (one attempt of one pipeline step: the process, then committing what it left), by agent, step and outcome (succeeded, failed, hung, cancelled).',
  labelNames: ['agent', 'step', 'outcome'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  registers: [registry],
});

/**
 * Where this process's Temporal SDK serves its Prometheus metrics (set by the worker runtime when it binds
 * the exporter; unset in a process without workers, such as `ouija api`). Process-wide like the runtime.
 */
let sdkMetricsUrl: string | undefined;

export function setSdkMetricsUrl(url: string | undefined): void {
  sdkMetricsUrl = url;
}

export function getSdkMetricsUrl(): string | undefined {
  return sdkMetricsUrl;
}

export const reconcileSignalled = new Counter({
  name: 'ouija_reconcile_signalled_total',
  help: 'Cards the reconciler found out of step with their board column and signalled (each one a webhook that never arrived), by board source and column role.',
  labelNames: ['source', 'role'] as const,
  registers: [registry],
});

export function countReconcileSignalled(source: string, role: string): void {
  reconcileSignalled.inc({ source, role });
}
