/**
 * Running cards per phase, from Temporal visibility (the `OuijaPhase` search attribute the card workflow
 * keeps current). Cached and single-flight, so however often Prometheus (or several) scrape, the Temporal
 * server sees at most one round of count queries per `ttlMs`.
 */
import type { Client } from '@temporalio/client';
import type { Phase } from '../core/types';
import { ALL_PHASES } from '../metrics';

export type PhaseCounts = ReadonlyMap<Phase, number>;

export function phaseQuery(phase: Phase): string {
  return `WorkflowType = 'cardWorkflow' AND ExecutionStatus = 'Running' AND OuijaPhase = '${phase}'`;
}

/** Returns a function giving the latest counts, refreshed when older than `ttlMs`; a failed refresh rejects. */
export function cachedPhaseCounts(temporal: Client, ttlMs: number, now: () => number = Date.now): () => Promise<PhaseCounts> {
  let cached: { at: number; counts: Promise<PhaseCounts> } | null = null;
  return () => {
    if (cached && now() - cached.at < ttlMs) return cached.counts;
    const counts = countAll(temporal);
    cached = { at: now(), counts };
    // A failure is cached for the same TTL: a Temporal outage must not turn every scrape into more queries.
    counts.catch(() => undefined);
    return counts;
  };
}

async function countAll(temporal: Client): Promise<PhaseCounts> {
  const counts = await Promise.all(ALL_PHASES.map(async (phase) => [phase, (await temporal.workflow.count(phaseQuery(phase))).count] as const));
  return new Map(counts);
}
