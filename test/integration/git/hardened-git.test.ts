/**
 * hardenedGit against real git: output, errors and timing of the one way Ouija runs host git.
 * Timing matters here (docs/PERFORMANCE.md): simple-git used to add 50 ms to every git process that printed nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitCommandError, gitTest, hardenedGit } from '../../../src/plugins/git';
import { commitsAt, gitCommandDuration } from '../../../src/plugins/git/hardened-git';

let dir: string;
let head: string;

beforeAll(() => {
  dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'ouija-hardened-')));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', ...args], { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '--quiet', '--initial-branch=main');
  git('commit', '--quiet', '--allow-empty', '-m', 'first');
  head = git('rev-parse', 'HEAD');
  git('tag', '--annotate', '-m', 'v1', 'v1');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('returns output unchanged, empty output as empty, and failures with exit code and stderr', async () => {
  const git = hardenedGit({ baseDir: dir });
  expect((await git.raw(['rev-parse', 'HEAD'])).trim()).toBe(head);
  expect(await git.raw(['diff', '--quiet'])).toBe('');
  expect(await gitTest(git, ['merge-base', '--is-ancestor', head, head])).toBe(true);
  const failure = await git.raw(['rev-parse', '--verify', 'refs/heads/none']).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(GitCommandError);
  expect(failure).toMatchObject({ exitCode: 128 });
  expect((failure as Error).message).toMatch(/Needed a single revision/);
});

it('does not wait after a git process that printed nothing', async () => {
  const git = hardenedGit({ baseDir: dir });
  const quiet: number[] = [];
  const noisy: number[] = [];
  for (let i = 0; i < 9; i++) {
    let t = performance.now();
    await git.raw(['diff', '--quiet']);
    quiet.push(performance.now() - t);
    t = performance.now();
    await git.raw(['rev-parse', 'HEAD']);
    noisy.push(performance.now() - t);
  }
  // Two equally light commands; with simple-git's fixed wait the quiet one took 50 ms longer every time.
  expect(median(quiet) - median(noisy)).toBeLessThan(30);
});

it('counts each git process by subcommand in ouija_git_command_duration_seconds', async () => {
  const git = hardenedGit({ baseDir: dir });
  const count = async (command: string, ok: string) =>
    (await gitCommandDuration.get()).values.find((v) => v.metricName === 'ouija_git_command_duration_seconds_count' && v.labels.command === command && v.labels.ok === ok)?.value ?? 0;
  const [revParse, failed, other] = [await count('rev-parse', 'true'), await count('rev-parse', 'false'), await count('other', 'true')];
  await git.raw(['rev-parse', 'HEAD']);
  await git.raw(['rev-parse', '--verify', 'refs/heads/none']).catch(() => undefined);
  await git.raw(['cat-file', '-t', 'HEAD']);
  expect(await count('rev-parse', 'true')).toBe(revParse + 1);
  expect(await count('rev-parse', 'false')).toBe(failed + 1);
  expect(await count('other', 'true')).toBe(other + 1);
});

it('commitsAt reads several refs with one process: exact names only, tags peeled, missing as null', async () => {
  const git = hardenedGit({ baseDir: dir });
  execFileSync('git', ['update-ref', 'refs/heads/main-x/y', head], { cwd: dir });
  const tips = await commitsAt(git, ['refs/heads/main', 'refs/tags/v1', 'refs/heads/main-x', 'refs/heads/none']);
  expect(Object.fromEntries(tips)).toEqual({ 'refs/heads/main': head, 'refs/tags/v1': head, 'refs/heads/main-x': null, 'refs/heads/none': null });
  expect(await commitsAt(git, [])).toEqual(new Map());
});
