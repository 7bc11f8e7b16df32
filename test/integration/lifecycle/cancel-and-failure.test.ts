/**
 * Walking skeleton, tests 3 and 4: a card moved out of the working column mid-run has its agent's whole
 * process group killed within seconds and its worktree cleaned; an agent that always fails is retried per
 * policy, then the card fails with a comment saying why, and moving it to the working column again retries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { listAgentRuns } from '../../../src/db';
import type { CardState } from '../../../src/core/types';
import { startHarness, type Harness } from '../../support/ouija-harness';

let h: Harness;
beforeAll(async () => {
  // Unsandboxed on purpose: the test follows the agent's and its child's pids, which a PID namespace renumbers.
  h = await startHarness({ agent: { maxAttempts: 2, sandbox: 'none' } });
});
afterAll(async () => {
  await h?.stop();
});

/** A process that still exists and is not a zombie (an exited child waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function findFile(dir: string, name: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(p, name);
      if (found) return found;
    } else if (entry.name === name) return p;
  }
  return undefined;
}

test('card moved out of the working column mid-run: agent and its children gone within seconds, worktree cleaned, cancelled', async () => {
  const c = await h.newCard('A long task', 'ouija-demo: spawn-child\nouija-demo: sleep=120000\nouija-demo: heartbeat=200');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  const working = await h.waitFor(c.cardKey, (s) => s.phase === 'working', 'phase working');
  const runsDir = path.join(h.config.dataDir, 'runs');
  const childPidFile = await until(() => findFile(runsDir, 'child.pid'), 'child.pid');
  const agentPidFile = await until(() => findFile(runsDir, 'agent.pid'), 'agent.pid');
  const childPid = Number(fs.readFileSync(childPidFile, 'utf8'));
  const agentPid = Number(fs.readFileSync(agentPidFile, 'utf8').split(' ')[0]); // `<pgid> <boot id>`
  expect(alive(childPid)).toBe(true);
  expect(alive(agentPid)).toBe(true);

  const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
  const movedAt = Date.now();
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'backlog', expectedVersion: card.version });
  expect(moved.status).toBe(200);
  await until(() => (!alive(agentPid) && !alive(childPid) ? true : undefined), 'agent processes to die', 15_000);
  const killedAfterMs = Date.now() - movedAt;
  expect(killedAfterMs).toBeLessThan(15_000);

  const final: CardState = await h.ouija.temporal.workflow.getHandle(c.workflowId).result();
  expect(final.phase).toBe('cancelled');
  expect(fs.existsSync(working.workspace!.path)).toBe(false);
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => r.outcome)).toEqual(['cancelled']);
});

test('agent exits non-zero every time: retried per policy, then failed with a comment; moving to working again retries', async () => {
  const c = await h.newCard('Doomed', 'ouija-demo: exit=3');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  const handle = h.ouija.temporal.workflow.getHandle(c.workflowId);
  const final: CardState = await handle.result();
  expect(final.phase).toBe('failed');
  expect(final.lastError).toMatch(/3/);
  const firstRunId = (await handle.describe()).runId;

  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs).toHaveLength(2); // maxAttempts: 2
  expect(runs.every((r) => r.outcome === 'failed' && r.exitCode === 3)).toBe(true);
  const card = (await h.api('GET', `/api/cards/${c.cardId}`)).body;
  const failures = (card.comments as Array<{ commentKey: string; body: string }>).filter((x) => x.commentKey.startsWith('failed/'));
  expect(failures).toHaveLength(1);
  expect(failures[0]!.body).toMatch(/fail/i);

  const again = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  expect(again.body.dispatch.status).toBe('accepted');
  const second: CardState = await h.ouija.temporal.workflow.getHandle(c.workflowId).result();
  expect(second.phase).toBe('failed');
  expect((await handle.describe()).runId).not.toBe(firstRunId);
  expect(await listAgentRuns(h.database.db, { cardKey: c.cardKey })).toHaveLength(4);
  // The second workflow execution counts runs from 1 again, yet its failure comment is a new one.
  const comments = (await h.api('GET', `/api/cards/${c.cardId}`)).body.comments as Array<{ commentKey: string }>;
  expect(comments.filter((x) => x.commentKey.startsWith('failed/'))).toHaveLength(2);
});
