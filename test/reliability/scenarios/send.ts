/** Sending built-in webhook deliveries as a sender would: signed, and retried on 503 (the sender's contract). */
import { signBuiltinBody } from '../../../src/plugins/kanban/builtin';
import type { Harness } from '../../support/ouija-harness';

export interface Sent {
  status: number | 'network-error';
  body: unknown;
}

export async function sendBuiltin(url: string, secret: string, body: string | Buffer, deliveryId: string, options: { signature?: string; retries503?: number } = {}): Promise<Sent> {
  const headers = { 'content-type': 'application/json', 'x-ouija-delivery': deliveryId, 'x-ouija-signature': options.signature ?? signBuiltinBody(secret, body) };
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${url}/webhooks/builtin`, { method: 'POST', headers, body });
    } catch {
      return { status: 'network-error', body: null };
    }
    const text = await res.text();
    if (res.status === 503 && attempt < (options.retries503 ?? 5)) {
      await sleep(500 * (attempt + 1));
      continue;
    }
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  }
}

/** The running Ouija's base URL (the harness always starts the HTTP server). */
export function baseUrl(h: Harness): string {
  if (!h.ouija.url) throw new Error('this Ouija has no HTTP server');
  return h.ouija.url;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  }));
  return results;
}
