/**
 * A throwaway PostgreSQL cluster for the integration tests: initdb into a temp dir, a postmaster on a free
 * loopback port with durability off (speed over safety: the data dies with the run), and a password-protected
 * superuser, so the suite connects over TCP exactly as it would to a real server. The server itself is
 * src/db/postgres-server.ts, the one `ouija cluster` runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPostgresServer } from '../../src/db/postgres-server';
import { freePort } from '../../src/temporal/dev-server';

export { findPostgresBinDir } from '../../src/db/postgres-server';

export interface TestPostgres {
  url: string;
  /** Stops the server for good and deletes its data. */
  stop(): Promise<void>;
  /** Stops the postmaster but keeps its data (for outage tests); `immediate` is a crash-like stop, else a fast shutdown. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same data directory and port, once stopped. */
  startServer(): Promise<void>;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ouija-pg-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const server = await startPostgresServer({ dataDir: path.join(dir, 'data'), socketDir: dir, port: await freePort(), durable: false });
    try {
      const admin = await server.connectAdmin();
      const role = 'ouija_test';
      const password = randomBytes(16).toString('hex');
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD ${admin.escapeLiteral(password)}`);
      } finally {
        await admin.end();
      }
      return {
        url: `postgres://${role}:${password}@127.0.0.1:${server.port}/postgres`,
        stop: async () => {
          await server.stop('fast');
          cleanup();
        },
        stopServer: (mode) => server.stop(mode),
        startServer: () => server.start(),
      };
    } catch (err) {
      await server.stop('immediate');
      throw err;
    }
  } catch (err) {
    cleanup();
    throw err;
  }
}
