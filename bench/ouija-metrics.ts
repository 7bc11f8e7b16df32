/**
 * Where Ouija's own time went during a scenario, from its in-process metrics (Ouija runs inside the bench
 * process): every host git command by subcommand (count, total and mean ms) and the agent activity's phases
 * around the agent process. Reset before a scenario, read after it; per card = divide by the cards run.
 */
import type { Histogram } from 'prom-client';
import { agentActivityPhase } from '../activities/phase-clock';
import { getSdkMetricsUrl } from '../src/metrics';
import { gitCommandDuration } from '../src/plugins/git/hardened-git';

export interface Breakdown {
  [label: string]: { count: number; totalMs: number; meanMs: number };
}

export function resetOuijaMetrics(): void {
  gitCommandDuration.reset();
  agentActivityPhase.reset();
}

async function byLabel(h: Histogram<string>, label: string): Promise<Breakdown> {
  const out: Breakdown = {};
  for (const v of (await h.get()).values) {
    const key = String(v.labels[label]);
    const entry = (out[key] ??= { count: 0, totalMs: 0, meanMs: 0 });
    if (v.metricName?.endsWith('_sum')) entry.totalMs += v.value * 1000;
    if (v.metricName?.endsWith('_count')) entry.count += v.value;
  }
  for (const e of Object.values(out)) {
    e.totalMs = Math.round(e.totalMs);
    e.meanMs = e.count ? Math.round((e.totalMs / e.count) * 10) / 10 : 0;
  }
  return Object.fromEntries(Object.entries(out).filter(([, e]) => e.count > 0).sort((a, b) => b[1].totalMs - a[1].totalMs));
}

export async function ouijaBreakdown(): Promise<{ git: Breakdown; agentPhases: Breakdown }> {
  return { git: await byLabel(gitCommandDuration, 'command'), agentPhases: await byLabel(agentActivityPhase, 'phase') };
}

/** One line per entry: `label ×count = total ms (mean)`, per card when `cards` is given. */
export function describe(b: Breakdown, cards: number): string {
  return Object.entries(b)
    .map(([k, e]) => `${k} ×${Math.round((e.count / cards) * 10) / 10}/card ${Math.round(e.totalMs / cards)} ms (mean ${e.meanMs})`)
    .join('; ');
}

/**
 * Workflow-worker counters of one namespace from the Temporal SDK's Prometheus exporter in this process
 * (the bare-Temporal worker shares the exporter, under its own namespace): sticky-cache hits and misses (a miss
 * replays the workflow's whole history), forced evictions, replays, and the workflow tasks' count and time.
 */
export async function workflowWorkerCounters(namespace: string): Promise<Record<string, number>> {
  const url = getSdkMetricsUrl();
  if (!url) return {};
  const text = await (await fetch(url)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^temporal_(sticky_cache_\w+|workflow_task_(?:replay|execution)_latency\w*_(?:sum|count))\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || !m[2]!.includes(`namespace="${namespace}"`)) continue;
    out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[3]);
  }
  return out;
}
