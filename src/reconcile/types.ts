/** What the reconciler compares: a board's view of its cards against Temporal's view of their workflows. */
import type { CardInfo, ColumnRole, Phase } from '../core/types';

/** One card in a working or review column, as its board sees it now. */
export interface SnapshotEntry {
  card: CardInfo;
  role: ColumnRole;
  /**
   * Changes whenever the card's column changes (built-in: the row's compare-and-set version; GitHub: the
   * issue's updated_at or the Status value's). Part of the synthetic delivery ID, so one board state is
   * delivered at most once.
   */
  version: string;
  /** When the board last changed the card, if it knows: lets a run that ended since stay ended (see outOfStep). */
  changedAt?: Date;
  /**
   * For boards whose listing cannot date a column change cheaply (GitHub labels: updated_at moves on every
   * comment): when the card entered its column, at a request's cost. The reconciler asks only where the
   * answer decides (changeTimeDecides); it replaces `version` and `changedAt`, so the delivery ID stays put
   * while the card does.
   */
  enteredColumn?: () => Promise<{ version: string; changedAt: Date }>;
}

/** A board source the reconciler can ask for its cards in working and review columns. */
export interface BoardSnapshot {
  /** The delivery log's source for this board's webhooks (`builtin`, `github`), for logs and metrics. */
  source: string;
  list(): Promise<SnapshotEntry[]>;
}

/** A card workflow as Temporal describes it; `null` where one is expected means there is none. */
export interface WorkflowView {
  status: 'running' | 'closed';
  /** The phase the workflow last published (its OuijaPhase search attribute); null if it never did. */
  phase: Phase | null;
  /** When a closed workflow closed. */
  closedAt: Date | null;
}
