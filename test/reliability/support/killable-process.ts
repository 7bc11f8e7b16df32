/**
 * Runs test/reliability/support/killable-worker.ts in a process of its own (env: OUIJA_KILLABLE_CONFIG,
 * OUIJA_KILL_PLAN, TEMPORAL_ADDRESS, OUIJA_TEST_WORKFLOW_BUNDLE) and resolves once it polls. Scenario 7 and the
 * worker-crash lifecycle test use it; `startWorkerProcess` runs it without targets, as a plain worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OuijaConfig } from '../../../src/config';
import type { QueueName } from '../../../workers/queues';
import { sleep } from '../scenarios/send';
import type { KillPlan } from './killable-worker';

const WORKER_SCRIPT = path.resolve(__dirname, 'killable-worker.ts');

export interface KillableWorker {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail(): string;
}

export async function startKillableWorker(env: NodeJS.ProcessEnv): Promise<KillableWorker> {
  const logFile = process.env.OUIJA_KILL_WORKER_LOG;
  const childEnv = logFile ? { ...env, OUIJA_LOG_LEVEL: 'warn' } : env;
  const proc = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, WORKER_SCRIPT], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  // OUIJA_KILL_WORKER_LOG=<file>: keep every worker's log lines (warnings and up) there, for debugging a failing run.
  if (logFile) {
    proc.stdout!.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
    proc.stderr!.on('data', (chunk: Buffer) => fs.appendFileSync(logFile, chunk));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`killable worker exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
  return { proc, exited, tail: () => stderr };
}

/** SIGTERM (a clean stop, not a kill), SIGKILL after 20 s. */
export async function stopKillableWorker(child: KillableWorker): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const outcome = await Promise.race([child.exited, sleep(20_000).then(() => 'timeout' as const)]);
  if (outcome === 'timeout') {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/**
 * A worker process that serves `queues` of the Ouija configured by `config` and is never killed (no targets): a
 * production split (`ouija worker -q agents git`) for the storm scenario and the bench.
 */
export function startWorkerProcess(config: OuijaConfig, queues: QueueName[], temporalAddress: string): Promise<KillableWorker> {
  const plan: KillPlan = { targets: [], killLog: '', remote: '', agentDelayMs: 0, armAt: 0 };
  return startKillableWorker({
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    OUIJA_KILLABLE_CONFIG: JSON.stringify({ ...config, secrets: {} }),
    OUIJA_KILL_PLAN: JSON.stringify(plan),
    OUIJA_WORKER_QUEUES: queues.join(','),
  });
}
