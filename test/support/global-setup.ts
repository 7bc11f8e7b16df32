/**
 * Jest globalSetup of the `integration` project: one Temporal server and one Postgres for every test file.
 * Servers given from outside (TEMPORAL_ADDRESS, OUIJA_TEST_DATABASE_URL, as CI does for Postgres) are used
 * as they are; anything missing is started here and stopped by global-teardown.ts. Test workers are forked
 * after this runs, so the environment variables set here reach them.
 */
import { ensureTemporalCli } from '../../src/temporal/cli';
import { startDevServer } from '../../src/temporal/dev-server';
import { log } from '../../src/log';
import { startTestPostgres } from './postgres-server';

export interface StartedServices {
  stops: Array<() => Promise<void>>;
}

declare global {
  var __OUIJA_TEST_SERVICES__: StartedServices | undefined;
}

/** The URL without its password, for printing. */
const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

export default async function globalSetup(): Promise<void> {
  const started: StartedServices = { stops: [] };
  globalThis.__OUIJA_TEST_SERVICES__ = started;
  const used: string[] = [];
  try {
    if (process.env.TEMPORAL_ADDRESS) {
      used.push(`Temporal ${process.env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`);
    } else {
      const cliPath = await ensureTemporalCli({ log });
      // The launcher's own "ready" line would repeat the summary printed below.
      const server = await startDevServer({ cliPath, headless: true, log: log.child({}, { level: 'warn' }) });
      started.stops.push(server.stop);
      process.env.TEMPORAL_ADDRESS = server.address;
      used.push(`Temporal dev server ${server.address} (started, in memory, pid ${server.pid})`);
    }
    if (process.env.OUIJA_TEST_DATABASE_URL) {
      used.push(`Postgres ${redact(process.env.OUIJA_TEST_DATABASE_URL)} (OUIJA_TEST_DATABASE_URL)`);
    } else {
      const pg = await startTestPostgres();
      started.stops.push(pg.stop);
      process.env.OUIJA_TEST_DATABASE_URL = pg.url;
      used.push(`Postgres ${redact(pg.url)} (started, throwaway)`);
    }
  } catch (err) {
    // Jest skips globalTeardown when setup throws: stop what did start, or it would outlive the run.
    await stopAll(started);
    throw err;
  }
  console.log(`\n[ouija integration] ${used.join('; ')}`);
}

/** Stops every service (they are independent, so all at once); one failing does not spare the others. */
export async function stopAll(started: StartedServices): Promise<void> {
  const results = await Promise.allSettled(started.stops.splice(0).map((stop) => stop()));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new AggregateError(failed.map((f) => f.reason), 'stopping test services failed');
}
