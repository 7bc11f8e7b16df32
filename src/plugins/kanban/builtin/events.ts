/**
 * The built-in board's event format: what its API emits internally and what POST /webhooks/builtin accepts
 * (signed with `X-Ouija-Signature: sha256=<hex HMAC of the raw body>`, delivery ID in `X-Ouija-Delivery`).
 */
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/);
const comment = z.object({ author: z.string().max(200), body: z.string().max(100_000), path: z.string().max(1000).optional(), line: z.number().int().optional() });

export const builtinEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('card.moved'), boardId: id, cardId: id, column: z.string().min(1).max(64) }),
  z.object({ type: z.literal('card.edited'), boardId: id, cardId: id }),
  z.object({ type: z.literal('card.deleted'), boardId: id, cardId: id }),
  z.object({ type: z.literal('review.approved'), boardId: id, cardId: id, by: z.string().max(200).optional() }),
  z.object({ type: z.literal('review.changesRequested'), boardId: id, cardId: id, comments: z.array(comment).max(500) }),
]);

export type BuiltinEvent = z.infer<typeof builtinEventSchema>;

export const BUILTIN_SIGNATURE_HEADER = 'x-ouija-signature';
export const BUILTIN_DELIVERY_HEADER = 'x-ouija-delivery';
