/**
 * Worker shutdown takes its agents with it: stopping a whole Ouija while a slow agent works leaves neither the
 * agent (its pid from the pid fence), nor its child, nor any other process of that run behind.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness } from '../../support/ouija-harness';
import { exists, readPid, waitUntilGone } from './helpers';

/** Live (non-zombie) processes whose environment names this run directory: a survivor of the run. */
function processesOfRun(runDir: string): number[] {
  const needle = `OUIJA_RUN_DIR=${runDir}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) found.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}

async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Unsandboxed, the pid files name host processes; sandboxed, they name processes of the sandbox's pid namespace, so the
// run's processes are found by their environment alone (bwrap's own process carries none of it).
test.each(['none', 'bwrap'] as const)('stopping Ouija mid-run kills the agent and its child, and no process of the run survives (sandbox %s)', async (sandbox) => {
  const h = await startHarness({ agent: { sandbox } });
  let stopped = false;
  try {
    const card = await h.newCard('Slow card', 'ouija-demo: spawn-child sleep=120000 heartbeat=200');
    await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
    await h.waitFor(card.cardKey, (s) => s.phase === 'working', 'the card working');

    const cardDir = join(h.config.dataDir, 'runs', card.cardKey.replace(/[^A-Za-z0-9_.-]/g, '_'));
    const pidFile = join(cardDir, 'agent.pid');
    await waitForFile(pidFile);
    const runDir = join(cardDir, readdirSync(cardDir).find((name) => name.endsWith('-attempt-1'))!);
    await waitForFile(join(runDir, 'child.pid'));
    const running = processesOfRun(runDir);
    if (sandbox === 'none') {
      const agentPid = readPid(pidFile);
      const childPid = readPid(join(runDir, 'child.pid'));
      expect(exists(agentPid)).toBe(true);
      expect(exists(childPid)).toBe(true);
      expect(running.sort()).toEqual([agentPid, childPid].sort());
    } else {
      // The agent and its child (bwrap starts the agent with the run's environment).
      expect(running.length).toBeGreaterThanOrEqual(2);
    }

    await h.ouija.stop();
    stopped = true;

    for (const pid of running) await waitUntilGone(pid);
    expect(processesOfRun(runDir)).toEqual([]);
  } finally {
    if (stopped) {
      await h.database.close();
      rmSync(h.workDir, { recursive: true, force: true });
    } else {
      await h.stop();
    }
  }
});
