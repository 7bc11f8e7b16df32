/**
 * What a board provider plugs into Ouija: the way in (a verified, parsed webhook) and the way out
 * (moving a card, commenting). Every provider folder (builtin/, github/, …) implements both.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CardInfo, ColumnRole } from '../../core/types';
import type { InboundEvent } from '../../ingest/types';

export interface WebhookProvider {
  /** The delivery log's `source` and the route's name: POST /webhooks/<source>. */
  source: string;
  /** The delivery ID as the sender names it, read before verification so even rejections are logged with it. */
  deliveryId(headers: IncomingHttpHeaders): string | undefined;
  /** Constant-time check of the signature over the raw bytes. False → 401. */
  verify(rawBody: Buffer, headers: IncomingHttpHeaders): boolean | Promise<boolean>;
  /** Parse a verified body. Throws MalformedPayloadError → 400. */
  toEvent(rawBody: Buffer, headers: IncomingHttpHeaders): Promise<InboundEvent>;
  /** The status for an event that was not accepted (ignored or duplicate), when the sender expects other than 202. */
  ignoredStatus?(event: InboundEvent): number | undefined;
}

export interface BoardClient {
  /** Idempotent: a card already in a column of that role stays put. */
  moveCard(card: CardInfo, role: ColumnRole): Promise<void>;
  /** Idempotent by comment key: a retried comment is not posted twice. */
  comment(card: CardInfo, commentKey: string, text: string): Promise<void>;
}

export class MalformedPayloadError extends Error {
  override name = 'MalformedPayloadError';
}
