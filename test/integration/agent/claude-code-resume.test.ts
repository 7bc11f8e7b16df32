/**
 * A worker dies mid-run and the REAL Claude Code resumes its session on another worker. The agents worker that
 * picks up the first attempt is a separate process (test/histories/agent-worker.ts); it is SIGKILLed while
 * Claude Code waits for the model's answer to its first tool result. Temporal notices the silent heartbeat and
 * retries the attempt on a fresh worker, whose agent activity reads the session ID from the dead attempt's last
 * heartbeat and starts `claude --resume <id>` in the same worktree with the same config dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import type { OuijaConfig } from '../../../src/config';
import { listAgentRuns } from '../../../src/db';
import { git } from '../../../src/cli/local-repo';
import { log } from '../../../src/log';
import { startOuija, type RunningOuija } from '../../../workers/all-in-one';
import type { AgentHeartbeat } from '../../../activities/agent';
import { cliBinary, moveToWork, startCliHarness, stopCliHarness } from '../../support/agent-cli';
import { startFakeAnthropic, userText, workingDirectory, type ContentBlock, type FakeAnthropic } from '../../support/fake-providers/anthropic';
import { workersOf, type Harness } from '../../support/ouija-harness';

const AGENT_WORKER = path.resolve(__dirname, '../../histories/agent-worker.ts');

let fake: FakeAnthropic;
let h: Harness;
let doomed: ChildProcess | undefined;
let replacement: RunningOuija | undefined;
beforeAll(async () => {
  ({ fake, h } = await startCliHarness(startFakeAnthropic, ({ url }) => ({
    adapter: 'claude-code',
    command: cliBinary('claude'),
    env: { ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: 'test' },
    // A short heartbeat timeout makes the retry come within seconds of the crash.
    heartbeatTimeoutMs: 3_000,
  })));
});
afterAll(async () => {
  if (doomed && doomed.exitCode === null && doomed.signalCode === null) doomed.kill('SIGKILL');
  await replacement?.stop();
  await stopCliHarness({ fake, h });
});

test('worker killed mid-run → the retried attempt runs claude --resume <first session> and keeps the earlier work', async () => {
  // Only the doomed process may pick up the first attempt: stop the harness's own agents worker.
  const own = workersOf(h, 'agents');
  for (const w of own) w.shutdown();
  await until(async () => own.every((w) => w.getState() === 'STOPPED'), 'the harness agents workers to stop');
  doomed = await startAgentWorkerProcess(h.config);

  fake.holdToolResults = true;
  const c = await h.newCard('Survive a crash (canary-crash-9d1e)', 'Write the greeting file.');
  await moveToWork(h, c);

  // Claude Code has written its first file and waits for the model; its session ID is in a heartbeat.
  await until(async () => fake.written.length === 1 && fake.messageRequests().length === 2, 'the first tool result to reach the fake');
  const firstSession = fake.requests[0]!.headers['x-claude-code-session-id'];
  expect(typeof firstSession).toBe('string');
  const handle = h.ouija.temporal.workflow.getHandle(c.workflowId);
  await until(async () => (await lastHeartbeat(c.workflowId))?.sessionId === firstSession, 'a heartbeat carrying the session ID');

  doomed.kill('SIGKILL');
  await new Promise((resolve) => (doomed!.exitCode !== null || doomed!.signalCode !== null ? resolve(null) : doomed!.once('exit', resolve)));
  fake.holdToolResults = false;
  replacement = await startOuija({ config: h.config, temporalAddress: process.env.TEMPORAL_ADDRESS!, queues: ['agents'], log });

  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'review after the retry', 120_000);
  const { branch, path: worktree } = review.workspace!;

  // The retried attempt continued the same session: same session ID, the dead attempt's tool call in its history,
  // and the resume note the adapter adds only when it passes --resume.
  const resumed = fake.messageRequests().slice(2);
  expect(resumed.length).toBeGreaterThanOrEqual(1);
  expect(fake.requests.slice(2).every((r) => r.headers['x-claude-code-session-id'] === firstSession)).toBe(true);
  expect(workingDirectory(resumed[0]!)).toBe(worktree);
  const history = resumed[0]!.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])) as ContentBlock[];
  expect(history).toContainEqual(expect.objectContaining({ type: 'tool_use', name: 'Write', input: expect.objectContaining({ file_path: fake.written[0] }) }));
  expect(userText(resumed[0]!)).toContain('Your previous attempt at this task was interrupted');
  expect(userText(resumed[0]!)).toContain('canary-crash-9d1e');

  // The dead attempt's file and the resumed attempt's file are both on the pushed branch.
  expect(fake.written.every((file) => file.startsWith(`${worktree}/`))).toBe(true);
  for (const file of fake.written) {
    expect(await git(h.remote, 'show', `refs/heads/${branch}:${path.relative(worktree, file)}`)).toMatch(/^Hello from Claude Code/);
  }
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => [r.attempt, r.outcome])).toEqual([
    [1, null], // its worker died with it: nobody recorded an end
    [2, 'succeeded'],
  ]);
  expect((await handle.describe()).status.name).toBe('RUNNING'); // in review, waiting for a reviewer
});

/** The details of the agent activity's last heartbeat that reached Temporal, if any. */
async function lastHeartbeat(workflowId: string): Promise<Partial<AgentHeartbeat> | undefined> {
  const pending = (await h.ouija.temporal.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
  const payload = pending.find((a) => a.activityType?.name === 'runAgent')?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<Partial<AgentHeartbeat>>(payload) : undefined;
}

/** test/histories/agent-worker.ts in a process of its own, so that a SIGKILL hits the worker and nothing else. */
async function startAgentWorkerProcess(config: OuijaConfig): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, AGENT_WORKER], {
    env: { ...process.env, OUIJA_RECORDER_CONFIG: JSON.stringify({ ...config, secrets: {} }), OUIJA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`agent worker process exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
  return child;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
