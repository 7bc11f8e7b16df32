/**
 * Effect IDs: `r<run>/<kind>[/<step>]/<round>`, e.g. `r1/agent/implement/0`. Deterministic (they are
 * recomputed on replay) and unique within a card's workflow, because `run` grows with every start, a
 * run/round has at most one effect of each kind besides agents, and step names are unique in a pipeline.
 * The workflow uses them as activity IDs; results carry them back so stale ones can be told apart.
 */
import type { WorkKind } from './types';

export function effectId(run: number, kind: WorkKind, round: number, step?: string): string {
  return step === undefined ? `r${run}/${kind}/${round}` : `r${run}/${kind}/${step}/${round}`;
}
