/**
 * The dev-server launcher against a real `temporal server start-dev` (a second one, beside the suite's):
 * search attributes registered, state kept in the db file across a restart, nothing left running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { ensureTemporalCli } from '../../../src/temporal/cli';
import { startDevServer, type DevServer } from '../../../src/temporal/dev-server';
import { OUIJA_CARD, SEARCH_ATTRIBUTES } from '../../../src/temporal/search-attributes';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (@temporalio/proto is not a direct dependency). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function withClient<T>(server: DevServer, fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: server.address });
  try {
    return await fn(new Client({ connection, namespace: server.namespace }), connection);
  } finally {
    await connection.close();
  }
}

describe('startDevServer', () => {
  let dir: string;
  let cliPath: string;
  const servers: DevServer[] = [];
  const start = async (opts: Partial<Parameters<typeof startDevServer>[0]> = {}) => {
    const server = await startDevServer({ cliPath, headless: true, namespace: 'ouija-it', ...opts });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ouija-devserver-'));
    cliPath = await ensureTemporalCli();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers the search attributes, keeps state in the db file across a restart, and leaves no process', async () => {
    const dbFile = path.join(dir, 'state', 'temporal.db');
    const first = await start({ dbFile });

    const registered = await withClient(first, async (_client, connection) => {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: first.namespace });
      return customAttributes ?? {};
    });
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) {
      expect(registered[name]).toBe(INDEXED_VALUE_TYPE_KEYWORD);
    }

    // No worker polls this queue: the execution simply stays open, which is all a persistence check needs.
    await withClient(first, (client) =>
      client.workflow.start('ouijaPersistenceProbe', {
        taskQueue: 'nobody-polls-this',
        workflowId: 'probe-1',
        typedSearchAttributes: new TypedSearchAttributes([{ key: OUIJA_CARD, value: 'card-1' }]),
      }),
    );

    await first.stop();
    expect(isAlive(first.pid)).toBe(false);

    const second = await start({ dbFile });
    expect(second.pid).not.toBe(first.pid);
    const description = await withClient(second, (client) => client.workflow.getHandle('probe-1').describe());
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(OUIJA_CARD)).toBe('card-1');

    await second.stop();
    await second.stop(); // idempotent
    expect(isAlive(second.pid)).toBe(false);
  });

  it('serves the Web UI when not headless', async () => {
    const server = await start({ headless: false });
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(server.uiUrl!);
    expect(res.status).toBe(200);
    await server.stop();
  });

  it('reports the server output when it dies on start', async () => {
    // Holds the port so the server's bind fails; drops whatever connects (the launcher's readiness probe).
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(start({ port })).rejects.toThrow(/exited early[\s\S]*address already in use/);
    } finally {
      blocker.close();
    }
  });
});
