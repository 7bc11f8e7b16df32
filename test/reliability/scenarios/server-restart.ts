/**
 * Scenario 8, Temporal dev server restart: a Temporal dev server of this scenario's own, keeping its state in a
 * SQLite file (`--db-filename`), and an Ouija on it; the flow and what is expected are restart-under-load.ts's.
 * Sizes: `restart-cards` (50), `restart-agent-ms` (4000), `restart-after-ms` (6000), `restart-down-ms` (3000),
 * `restart-deadline-s` (200), `restart-kill-when-agents` (4), `restart-kill-wait-s` (60). Scenario 12 (cluster-restart.ts) is the same on the real Temporal server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../../src/log';
import { ensureTemporalCli } from '../../../src/temporal/cli';
import { freePort, startDevServer, type DevServer } from '../../../src/temporal/dev-server';
import { startHarness, type Harness } from '../../support/ouija-harness';
import { restartUnderLoad } from './restart-under-load';
import { RELIABILITY_SECRETS, size, type Scenario } from './scenario';

// Unsandboxed on purpose: the demo agents write marker files outside their worktrees, which the sandbox hides.
export const RESTART_OVERRIDES = { agent: { maxConcurrent: 8, maxAttempts: 5, sandbox: 'none' as const } };

export const serverRestart: Scenario = {
  name: 'server-restart',
  async run({ params }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-restart-'));
    const dbFile = path.join(dir, 'temporal.sqlite');
    const cliPath = await ensureTemporalCli({ log });
    const quiet = log.child({}, { level: 'error' });
    const port = await freePort();
    let server: DevServer = await startDevServer({ cliPath, dbFile, port, headless: true, log: quiet });
    let h: Harness | undefined;
    try {
      h = await startHarness({ ...RESTART_OVERRIDES, secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin } }, { temporalAddress: server.address });
      return await restartUnderLoad({
        label: '8 Temporal restart',
        harness: h,
        temporal: {
          kind: 'dev server',
          address: server.address,
          kill: async () => {
            try {
              process.kill(-server.pid, 'SIGKILL'); // the whole group the launcher leads
            } catch {
              /* already gone */
            }
            await server.stop(); // reaps it
          },
          start: async () => {
            server = await startDevServer({ cliPath, dbFile, port, headless: true, log: quiet });
          },
        },
        sizes: {
          cards: size(params, 'restart-cards', 50),
          agentMs: size(params, 'restart-agent-ms', 4_000),
          afterMs: size(params, 'restart-after-ms', 6_000),
          downMs: size(params, 'restart-down-ms', 3_000),
          deadlineS: size(params, 'restart-deadline-s', 200),
          killWhenAgents: size(params, 'restart-kill-when-agents', 4),
          killWaitS: size(params, 'restart-kill-wait-s', 60),
        },
      });
    } finally {
      await h?.stop();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
