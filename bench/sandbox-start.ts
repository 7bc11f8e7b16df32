/**
 * `npm run bench:sandbox-start -- --runs=30`: what the bubblewrap sandbox adds to starting an agent. A real
 * workspace (Workspaces.prepare on a local bare remote, so the sandbox binds what production binds), then the
 * same tiny protocol agent (`node -e`, prints one result line) through runAgent, alternately without a sandbox
 * and under bwrap. Prints nearest-rank percentiles of the wall time of each runAgent call and their difference.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBareRemote } from '../src/cli/local-repo';
import { commandAdapter, runAgent, type SandboxMode } from '../src/plugins/agent';
import { createWorkspaces } from '../src/plugins/git';
import { summarize, table } from './stats';

const AGENT = `process.stdout.write(JSON.stringify({ type: 'result', summary: 'ok' }) + '\\n');`;

function parseRuns(argv: string[]): number {
  for (const arg of argv) {
    const m = /^--runs=(\d+)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}; known: --runs=<n>`);
    return Number(m[1]);
  }
  return 30;
}

async function main(argv: string[]): Promise<void> {
  const runs = parseRuns(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-sandbox-start-'));
  try {
    const data = path.join(dir, 'data');
    const remote = await createBareRemote(dir);
    const workspaces = createWorkspaces({ root: path.join(data, 'workspaces') });
    const ws = await workspaces.prepare({ cardKey: 'builtin:bench:1', repo: remote, branch: 'ouija/bench-1' });
    const samples: Record<SandboxMode, number[]> = { none: [], bwrap: [] };
    for (let i = 0; i < runs * 2; i++) {
      const mode: SandboxMode = i % 2 === 0 ? 'none' : 'bwrap';
      const runDir = path.join(data, 'runs', 'card', `run-${i}`);
      const started = performance.now();
      await runAgent({
        adapter: commandAdapter({ command: process.execPath, args: ['-e', AGENT] }),
        task: { cardKey: 'builtin:bench:1', title: 't', body: '', step: 'implement', stepIndex: 0, round: 0, feedback: [], branch: ws.branch, worktree: ws.path },
        runDir,
        pidFile: path.join(data, 'runs', 'card', 'agent.pid'),
        stateDir: path.join(data, 'runs', 'card', 'state'),
        signal: new AbortController().signal,
        silenceTimeoutMs: 30_000,
        sandbox: { mode, hidden: [data] },
        onEvent: () => undefined,
      });
      // The first of each is a warm-up (page cache, bwrap's first exec).
      if (i >= 2) samples[mode].push(performance.now() - started);
    }
    const none = summarize(samples.none)!;
    const bwrap = summarize(samples.bwrap)!;
    console.log(
      table(
        ['sandbox', 'runs', 'p50 ms', 'p95 ms', 'mean ms'],
        [
          ['none', String(none.n), String(none.p50), String(none.p95), String(none.mean)],
          ['bwrap', String(bwrap.n), String(bwrap.p50), String(bwrap.p95), String(bwrap.mean)],
          ['bwrap - none', '', (bwrap.p50 - none.p50).toFixed(1), '', (bwrap.mean - none.mean).toFixed(1)],
        ],
      ),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
