/**
 * The webhook delivery log: the long memory that stops a retried or replayed delivery from acting twice
 * (Temporal forgets closed workflows after retention), and the audit log of rejected requests (invariant 8).
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, DeliveryStatus, WebhookDeliveriesTable, WebhookRejectionsTable } from './schema';

export interface WebhookDelivery {
  id: number;
  source: string;
  deliveryId: string;
  event: string;
  cardKey: string | null;
  status: DeliveryStatus;
  bodyBytes: number;
  receivedAt: Date;
  acceptedAt: Date | null;
  note: string | null;
}

export interface WebhookRejection {
  id: number;
  source: string;
  deliveryId: string | null;
  httpStatus: number;
  reason: string;
  bodyBytes: number | null;
  remoteAddr: string | null;
  createdAt: Date;
}

type Db = Kysely<Database>;
const DEFAULT_LIMIT = 100;

/**
 * Remembers a delivery. `firstSeen` is true for exactly one caller per (source, deliveryId), however many
 * race; `status` tells a repeat what became of the first (still 'received' = never accepted: safe to retry).
 */
export async function recordDelivery(
  db: Db,
  input: { source: string; deliveryId: string; event: string; cardKey: string | null; bodyBytes: number },
): Promise<{ firstSeen: boolean; status: DeliveryStatus }> {
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values({
      source: input.source,
      delivery_id: input.deliveryId,
      event: input.event,
      card_key: input.cardKey,
      body_bytes: input.bodyBytes,
    })
    .onConflict((oc) => oc.columns(['source', 'delivery_id']).doNothing())
    .returning('status')
    .executeTakeFirst();
  if (inserted) return { firstSeen: true, status: inserted.status };
  const existing = await db
    .selectFrom('webhook_deliveries')
    .select('status')
    .where('source', '=', input.source)
    .where('delivery_id', '=', input.deliveryId)
    .executeTakeFirstOrThrow();
  return { firstSeen: false, status: existing.status };
}

/** Temporal has durably taken the delivery. Returns false when the delivery was never recorded. */
export async function markAccepted(db: Db, input: { source: string; deliveryId: string }): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    // Keep the first acceptance time if a retry accepts again.
    .set({ status: 'accepted', accepted_at: sql`coalesce(accepted_at, now())` })
    .where('source', '=', input.source)
    .where('delivery_id', '=', input.deliveryId)
    .returning('id')
    .executeTakeFirst();
  return result !== undefined;
}

/** The delivery was valid but asks nothing of Ouija (an event we do not handle, a card not on a board…). */
export async function markIgnored(db: Db, input: { source: string; deliveryId: string; note: string }): Promise<boolean> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'ignored', note: input.note })
    .where('source', '=', input.source)
    .where('delivery_id', '=', input.deliveryId)
    .returning('id')
    .executeTakeFirst();
  return result !== undefined;
}

export async function getDelivery(db: Db, input: { source: string; deliveryId: string }): Promise<WebhookDelivery | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('source', '=', input.source)
    .where('delivery_id', '=', input.deliveryId)
    .executeTakeFirst();
  return row && toDelivery(row);
}

/** Newest first. */
export async function listDeliveries(db: Db, filter: { source?: string; limit?: number } = {}): Promise<WebhookDelivery[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll();
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit ?? DEFAULT_LIMIT).execute();
  return rows.map(toDelivery);
}

/** Logs a 400/401/413 (every one: this is an audit trail, repeats included). Returns the row's ID. */
export async function recordRejection(
  db: Db,
  input: Omit<WebhookRejection, 'id' | 'createdAt'>,
): Promise<number> {
  const row = await db
    .insertInto('webhook_rejections')
    .values({
      source: input.source,
      delivery_id: input.deliveryId,
      http_status: input.httpStatus,
      reason: input.reason,
      body_bytes: input.bodyBytes,
      remote_addr: input.remoteAddr,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Newest first. */
export async function listRejections(
  db: Db,
  filter: { source?: string; deliveryId?: string; limit?: number } = {},
): Promise<WebhookRejection[]> {
  let query = db.selectFrom('webhook_rejections').selectAll();
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  if (filter.deliveryId !== undefined) query = query.where('delivery_id', '=', filter.deliveryId);
  const rows = await query.orderBy('id', 'desc').limit(filter.limit ?? DEFAULT_LIMIT).execute();
  return rows.map(toRejection);
}

export async function countRejections(db: Db, filter: { source?: string; httpStatus?: number; deliveryId?: string } = {}): Promise<number> {
  let query = db.selectFrom('webhook_rejections').select(sql<number>`count(*)::int`.as('count'));
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  if (filter.httpStatus !== undefined) query = query.where('http_status', '=', filter.httpStatus);
  if (filter.deliveryId !== undefined) query = query.where('delivery_id', '=', filter.deliveryId);
  const row = await query.executeTakeFirstOrThrow();
  return row.count;
}

function toDelivery(row: Selectable<WebhookDeliveriesTable>): WebhookDelivery {
  return {
    id: row.id,
    source: row.source,
    deliveryId: row.delivery_id,
    event: row.event,
    cardKey: row.card_key,
    status: row.status,
    bodyBytes: row.body_bytes,
    receivedAt: row.received_at,
    acceptedAt: row.accepted_at,
    note: row.note,
  };
}

function toRejection(row: Selectable<WebhookRejectionsTable>): WebhookRejection {
  return {
    id: row.id,
    source: row.source,
    deliveryId: row.delivery_id,
    httpStatus: row.http_status,
    reason: row.reason,
    bodyBytes: row.body_bytes,
    remoteAddr: row.remote_addr,
    createdAt: row.created_at,
  };
}
