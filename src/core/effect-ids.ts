/**
 * Effect IDs: `r<run>/<kind>[/<step>]/<round>[/m<moves>]`, e.g. `r1/agent/implement/0`. Deterministic (they are
 * recomputed on replay) and unique within a card's workflow, because `run` grows with every start, a
 * run/round has at most one effect of each kind besides agents and slot waits (one per step), step names are
 * unique in a pipeline, and a run that moves to another host counts its moves (`/m1` from the first move on).
 * The workflow uses them as activity IDs; results carry them back so stale ones can be told apart.
 */
import type { WorkKind } from './types';

export function effectId(run: number, kind: WorkKind, round: number, step?: string, moves = 0): string {
  const id = step === undefined ? `r${run}/${kind}/${round}` : `r${run}/${kind}/${step}/${round}`;
  return moves > 0 ? `${id}/m${moves}` : id;
}
