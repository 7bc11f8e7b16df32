/**
 * Coordination overhead of a card: how much of the time its run spends in active phases (preparing,
 * working, publishing, revising) is not spent waiting for its agent. Measured here, in the workflow,
 * because only the workflow sees every phase change; workflow time is deterministic and the SDK's workflow
 * `metricMeter` emits nothing while replaying, so a replayed history never counts twice.
 *
 * "Agent time" is what the workflow waited for its runAgent activities (scheduled → result), so the
 * overhead is worktree preparation, pushing, opening the review request and Temporal's own scheduling.
 * Waiting for a free agent slot counts as agent time here; the SDK's
 * `temporal_activity_schedule_to_start_latency{task_queue="ouija-agents"}` shows that wait on its own.
 */
import type { MetricHistogram } from '@temporalio/common';
import { metricMeter } from '@temporalio/workflow';
import { ACTIVE_PHASES, type CardState } from '../src/core/types';

export const COORDINATION_OVERHEAD_METRIC = 'ouija_coordination_overhead_seconds';
/** Histogram buckets (seconds) the worker runtime configures for this metric. */
export const COORDINATION_OVERHEAD_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

export type OverheadObserver = (state: CardState) => void;

/**
 * Returns an observer to call with the card's state after every change (and once at start). Each time an
 * active span ends (the card reaches review, done, failed, cancelled or idle) it records
 * `active time − agent time` in seconds, labelled with the phase the span ended in.
 */
export function coordinationOverhead(
  histogram: Pick<MetricHistogram, 'record'> = metricMeter.createHistogram(
    COORDINATION_OVERHEAD_METRIC,
    'float',
    's',
    'Per card and active span: time in active phases minus time waiting for its agent (seconds), by the phase the span ended in.',
  ),
  now: () => number = Date.now,
): OverheadObserver {
  let activeSince: number | null = null;
  let agentSince: number | null = null;
  let agentMs = 0;

  return (state) => {
    const t = now();
    const active = ACTIVE_PHASES.includes(state.phase);
    // Agent time counts only inside an active span: a cancelled agent still stopping is not part of one.
    const agentRunning = active && (state.inFlight?.kind === 'agent' || state.inFlight?.kind === 'group');
    if (agentSince !== null && !agentRunning) {
      agentMs += t - agentSince;
      agentSince = null;
    }
    if (agentRunning && agentSince === null) agentSince = t;

    if (active && activeSince === null) activeSince = t;
    if (!active && activeSince !== null) {
      histogram.record(Math.max(0, t - activeSince - agentMs) / 1000, { ended: state.phase });
      activeSince = null;
      agentMs = 0;
    }
  };
}
