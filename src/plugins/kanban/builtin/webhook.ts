/** POST /webhooks/builtin: a signed built-in board event (the same format its own API emits). */
import type { Kysely } from 'kysely';
import type { Database } from '../../../db';
import { MalformedPayloadError, type WebhookProvider } from '../types';
import { hmac, header, safeEqual } from '../signatures';
import { BUILTIN_DELIVERY_HEADER, BUILTIN_SIGNATURE_HEADER, builtinEventSchema } from './events';
import { BUILTIN_SOURCE, builtinInbound } from './inbound';

export function signBuiltinBody(secret: string, body: Buffer | string): string {
  return `sha256=${hmac('sha256', secret, body, 'hex')}`;
}

export function builtinWebhookProvider(db: Kysely<Database>, secret: string | undefined): WebhookProvider {
  return {
    source: BUILTIN_SOURCE,
    deliveryId: (headers) => header(headers, BUILTIN_DELIVERY_HEADER),
    // Without a configured secret nothing can be verified, so nothing is accepted.
    verify: (raw, headers) => secret !== undefined && safeEqual(header(headers, BUILTIN_SIGNATURE_HEADER), signBuiltinBody(secret, raw)),
    async toEvent(raw, headers) {
      const deliveryId = header(headers, BUILTIN_DELIVERY_HEADER);
      if (!deliveryId || !/^[A-Za-z0-9_.:@-]{1,200}$/.test(deliveryId)) throw new MalformedPayloadError(`missing or malformed ${BUILTIN_DELIVERY_HEADER} header`);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new MalformedPayloadError(`body is not JSON: ${(err as Error).message}`);
      }
      const parsed = builtinEventSchema.safeParse(json);
      if (!parsed.success) throw new MalformedPayloadError(`not a built-in board event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return builtinInbound(db, parsed.data, deliveryId, raw.length);
    },
  };
}
