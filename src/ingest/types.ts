import type { CardInfo, ExternalTrigger } from '../core/types';

/** One delivery from a board, forge or operator, after verification and parsing. */
export interface InboundEvent {
  /** Where it came from: `builtin`, `github`, … (with the delivery ID, the delivery log's unique key). */
  source: string;
  deliveryId: string;
  /** The provider's event name, for the log (e.g. `card.moved`, `projects_v2_item.edited`). */
  event: string;
  bodyBytes: number;
  /** Null when the event is irrelevant to Ouija: it is logged as ignored and answered 2xx. */
  card: CardInfo | null;
  trigger: ExternalTrigger | null;
  /** Why the event was irrelevant (when card/trigger are null). */
  ignoredReason?: string;
}

export type IngestOutcome =
  | { status: 'accepted'; workflowId: string }
  | { status: 'duplicate'; workflowId?: string }
  | { status: 'ignored'; reason: string };

/** A dependency (Postgres or Temporal) is down: answer 503 so the sender retries; nothing was accepted. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}
