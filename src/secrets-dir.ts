/**
 * Where Ouija keeps the secrets it generates itself (today: the built-in board's webhook secret, when
 * OUIJA_BUILTIN_WEBHOOK_SECRET is not set): `$XDG_STATE_HOME/ouija/<instance>/` (default
 * `~/.local/state/ouija/<instance>/`), directories 0700, files 0600. Not under the data directory: that one
 * holds every card's worktree and run directory, the first place an agent looks around, so a secret there is
 * one `ls ..` away from an unsandboxed agent and one careless bind away from a sandboxed one. Every instance on
 * the machine keeps its secrets under the same `ouija/` directory, which the sandbox hides as a whole.
 * `<instance>` names the data directory (its last part and a digest of its absolute path), so two data
 * directories never share a secret.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** `$XDG_STATE_HOME/ouija` (a relative XDG_STATE_HOME is ignored, as the XDG spec says), else `~/.local/state/ouija`. */
export function secretsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : env.HOME ? path.join(env.HOME, '.local', 'state') : null;
  if (state === null) throw new Error('neither XDG_STATE_HOME nor HOME is set: set OUIJA_BUILTIN_WEBHOOK_SECRET instead of having Ouija generate it');
  return path.join(state, 'ouija');
}

/** The directory of the secrets of the Ouija whose data directory is `dataDir`. */
export function instanceSecretsDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const absolute = path.resolve(dataDir);
  const digest = crypto.createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  const name = path.basename(absolute).replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '') || 'data';
  return path.join(secretsRoot(env), `${name}-${digest}`);
}

/**
 * The secret kept in `<instance dir>/<name>`: read, or generated (32 random bytes, hex) when missing. A copy
 * at `legacyFile` (where an earlier Ouija kept it) is moved here first, so what was configured with it keeps
 * working; if both exist, the one here wins and the old copy is deleted. Permissions are put right every time.
 */
export function generatedSecret(dir: string, name: string, legacyFile?: string): { secret: string; file: string } {
  const file = path.join(dir, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (legacyFile !== undefined && fs.existsSync(legacyFile)) {
    if (fs.existsSync(file)) fs.rmSync(legacyFile, { force: true });
    else moveFile(legacyFile, file);
    // The old `secrets/` directory goes too once it is empty.
    try {
      fs.rmdirSync(path.dirname(legacyFile));
    } catch {
      /* not empty, or gone already */
    }
  }
  try {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fs.chmodSync(file, 0o600);
  return { secret: fs.readFileSync(file, 'utf8').trim(), file };
}

function moveFile(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    // Another file system: copy (exclusively, 0600), then delete the original.
    fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(to, 0o600);
    fs.rmSync(from);
  }
}
