/**
 * `npm run bench:git-growth -- --cards=2000 --every=250`: how Ouija's git work per card grows with the cards
 * already on one repository. One local bare remote, one Workspaces root (one mirror), cards one after another:
 * prepare, a one-file commit, push. Every `every` cards it prints the mean ms of each per-card operation and of
 * each git subcommand they ran (from `ouija_git_command_duration_seconds`), then writes
 * bench/results/git-growth-<date>.json. Cards stay open (worktree and pushed branch kept), as in review.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBareRemote } from '../src/cli/local-repo';
import { createWorkspaces } from '../src/plugins/git';
import { gitCommandDuration } from '../src/plugins/git/hardened-git';
import { describe as perCard, ouijaBreakdown } from './ouija-metrics';
import { table } from './stats';

const DEFAULTS = { cards: 2000, every: 250 };

function parseArgs(argv: string[]): typeof DEFAULTS {
  const options = { ...DEFAULTS };
  for (const arg of argv) {
    const m = /^--(cards|every)=(\d+)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}; known: --cards=<n> --every=<n>`);
    options[m[1] as keyof typeof DEFAULTS] = Number(m[2]);
  }
  return options;
}

async function main(argv: string[]): Promise<void> {
  const options = parseArgs(argv);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-git-growth-'));
  try {
    const remote = await createBareRemote(dir);
    const workspaces = createWorkspaces({ root: path.join(dir, 'root') });
    const rows: Array<{ cards: number; prepareMs: number; commitMs: number; pushMs: number; git: Awaited<ReturnType<typeof ouijaBreakdown>>['git'] }> = [];
    const spent = { prepare: 0, commit: 0, push: 0 };
    const timed = async <T>(what: keyof typeof spent, operation: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await operation();
      } finally {
        spent[what] += performance.now() - started;
      }
    };
    gitCommandDuration.reset();
    for (let i = 1; i <= options.cards; i++) {
      const cardKey = `builtin:growth:card-${i}`;
      const branch = `ouija/growth-card-${i}`;
      const ws = await timed('prepare', () => workspaces.prepare({ cardKey, repo: remote, branch }));
      fs.writeFileSync(path.join(ws.path, `card-${i}.txt`), `${i}\n`);
      await timed('commit', () => workspaces.commitAndInspect({ path: ws.path, message: `card ${i}`, baseSha: ws.baseSha }));
      await timed('push', () => workspaces.push({ path: ws.path, repo: remote, branch, expectedRemoteSha: ws.remoteSha }));
      if (i % options.every === 0) {
        const mean = (ms: number) => Math.round((ms / options.every) * 10) / 10;
        const { git } = await ouijaBreakdown();
        rows.push({ cards: i, prepareMs: mean(spent.prepare), commitMs: mean(spent.commit), pushMs: mean(spent.push), git });
        console.error(`[git-growth] ${i} cards: prepare ${mean(spent.prepare)} ms, commit ${mean(spent.commit)} ms, push ${mean(spent.push)} ms; git per card: ${perCard(git, options.every)}`);
        spent.prepare = spent.commit = spent.push = 0;
        gitCommandDuration.reset();
      }
    }
    const subcommands = ['ls-remote', 'worktree add', 'fetch', 'push'];
    console.log(
      table(
        ['cards open', 'prepare ms', 'commit ms', 'push ms', ...subcommands.map((c) => `git ${c} ms`)],
        rows.map((r) => [r.cards, r.prepareMs, r.commitMs, r.pushMs, ...subcommands.map((c) => r.git[c]?.meanMs ?? '-')].map(String)),
      ),
    );
    const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim() };
    const file = path.join(__dirname, 'results', `git-growth-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), machine, options, rows }, null, 2)}\n`);
    console.log(`written ${path.relative(process.cwd(), file)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
