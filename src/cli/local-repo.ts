/** A throwaway git remote (a bare repository with one commit on main), for `ouija demo` and tests. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Ouija', GIT_AUTHOR_EMAIL: 'ouija@localhost', GIT_COMMITTER_NAME: 'Ouija', GIT_COMMITTER_EMAIL: 'ouija@localhost' };

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-c', 'core.hooksPath=/dev/null', ...args], { cwd, env: GIT_ENV });
  return stdout.trim();
}

/** Creates `<dir>/remote.git` with a README on `main`; returns its absolute path. */
export async function createBareRemote(dir: string): Promise<string> {
  const remote = path.join(dir, 'remote.git');
  const seed = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-seed-'));
  try {
    fs.mkdirSync(remote, { recursive: true });
    await git(remote, 'init', '--bare', '--initial-branch=main');
    await git(seed, 'init', '--initial-branch=main');
    fs.writeFileSync(path.join(seed, 'README.md'), '# Demo project\n\nA throwaway repository for `ouija demo`.\n');
    await git(seed, 'add', 'README.md');
    await git(seed, 'commit', '-m', 'Initial commit');
    await git(seed, 'push', remote, 'main');
  } finally {
    fs.rmSync(seed, { recursive: true, force: true });
  }
  return remote;
}

/** Commits on `branch` that `main` does not have, in the bare remote. */
export async function commitsAhead(remote: string, branch: string, base = 'main'): Promise<number> {
  return Number(await git(remote, 'rev-list', '--count', `${base}..refs/heads/${branch}`));
}
