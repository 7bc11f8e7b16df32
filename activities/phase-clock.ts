/**
 * Where an agent activity's own time goes, apart from the agent: the laps between its steps (the start-HEAD
 * inspect, the `agent_runs` insert, committing and inspecting afterwards, ...) as a histogram by phase.
 * The bench (bench/) reads it to split Ouija's dispatch and step overhead; operators see it on /metrics.
 */
import { performance } from 'node:perf_hooks';
import { Histogram } from 'prom-client';
import { registry } from '../src/metrics';

export const agentActivityPhase = new Histogram({
  name: 'ouija_agent_activity_phase_seconds',
  help: 'Wall time of each phase of the agent activity around the agent process (before_spawn: worktree check, start HEAD, agent_runs insert; agent: the process itself; after: event flush, commit, inspect, agent_runs update).',
  labelNames: ['phase'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600],
  registers: [registry],
});

/** A stopwatch: `lap(phase)` records the time since the previous lap (or the clock's start) under `phase`. */
export function phaseClock(): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    agentActivityPhase.observe({ phase }, (now - last) / 1000);
    last = now;
  };
}
