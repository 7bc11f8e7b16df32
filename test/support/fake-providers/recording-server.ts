/**
 * The part every fake provider shares: an HTTP server on 127.0.0.1 (port 0) that records each request it gets
 * (method, URL, headers, parsed JSON body) and hands the ones it knows to a route; anything else is answered
 * 404 and still recorded, so a test can assert that a CLI called nothing but the endpoints it expects.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body parsed as JSON; the raw text when it is not JSON. */
  body: unknown;
}

/** Answers one request; returns false when the request is not one this provider speaks (→ 404). */
export type Route = (request: RecordedRequest, res: http.ServerResponse) => boolean;

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingServer(route: Route): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: keep the text */
      }
      const request: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(request);
      try {
        if (!route(request, res)) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: String(error) } }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Writes a complete server-sent-event stream: one `data:` line per event (with `event:` when named). */
export function writeSse(res: http.ServerResponse, events: Array<{ event?: string; data: unknown }>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const { event, data } of events) res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  res.end();
}

/** The file the n-th scripted write creates: a new one each time (hello.txt, hello-1.txt, …), so every step changes something. */
export function greetingFile(from: string): (n: number) => { name: string; content: string } {
  return (n) => ({ name: n === 0 ? 'hello.txt' : `hello-${n}.txt`, content: `Hello from ${from} (${n})\n` });
}

/** Answers the provider's JSON error with HTTP 500 (every fake's `error500` mode); true, for the route to return. */
export function answer500(res: http.ServerResponse, error: unknown): true {
  res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(error));
  return true;
}
