/**
 * The smallest signed-webhook front end, for the implementations that have none of their own (bare Temporal,
 * BullMQ): the built-in board's signature format (HMAC-SHA256 of the raw body), then `accept(card, deliveryId)`.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signBuiltinBody } from '../../src/plugins/kanban/builtin';

export interface WebhookServer {
  url: string;
  close(): Promise<void>;
}

export async function startWebhookServer(secret: string, accept: (card: string, deliveryId: string) => Promise<void>): Promise<WebhookServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const given = Buffer.from(String(req.headers['x-ouija-signature'] ?? ''));
      const wanted = Buffer.from(signBuiltinBody(secret, raw));
      const deliveryId = String(req.headers['x-ouija-delivery'] ?? '');
      if (given.length !== wanted.length || !crypto.timingSafeEqual(given, wanted) || !deliveryId) {
        res.writeHead(401).end();
        return;
      }
      const { card } = JSON.parse(raw.toString('utf8')) as { card: string };
      accept(card, deliveryId).then(
        () => res.writeHead(200).end(),
        (err: unknown) => res.writeHead(503).end(String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
