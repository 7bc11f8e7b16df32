/**
 * The agent's environment is built from an allow-list, never copied from the server's: the worker holds
 * Ouija's credentials (forge token, webhook secrets, database URL) and an agent runs code it was asked to
 * write. Anything an agent CLI needs (its own API key, say) is named explicitly in config via `passEnv`.
 */

export interface AgentEnvironmentOptions {
  /** Where `passEnv` and the locale are copied from (default: this process's environment). */
  base?: NodeJS.ProcessEnv;
  /** Names to copy from `base` when set there (an agent CLI's own API key, for example). */
  passEnv?: string[];
  /** Literal values from config. */
  env?: Record<string, string>;
  /** Per-run directories: the agent's HOME and TMPDIR, so nothing leaks between runs or into the worktree. */
  home: string;
  tmpDir: string;
  /** Ouija's task variables (`OUIJA_TASK_FILE`, `OUIJA_RUN_DIR`, ...); set last, so config cannot shadow them. */
  extra: Record<string, string>;
}

/** Copied from `base` when present: what a well-behaved CLI needs to find programs and print text. */
const INHERITED = ['PATH', 'LANG', 'LC_ALL'] as const;

/**
 * Ouija's own credentials and namespace: config may not hand these to an agent, even on purpose. Pushing and
 * talking to the board are the host's job, done with hardened git after the agent has finished.
 */
const FORBIDDEN = [/^OUIJA_/, /^GITHUB_TOKEN$/, /^GH_TOKEN$/, /^GITHUB_APP_/, /^DATABASE_URL$/, /^PG[A-Z]+$/, /^TEMPORAL_/];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TASK_VARIABLE = /^OUIJA_[A-Z0-9_]+$/;

export class AgentEnvironmentError extends Error {
  override name = 'AgentEnvironmentError';
}

function checkConfigName(name: string, source: 'passEnv' | 'env'): void {
  if (!NAME.test(name)) throw new AgentEnvironmentError(`${source}: ${JSON.stringify(name)} is not a valid variable name`);
  if (FORBIDDEN.some((pattern) => pattern.test(name))) {
    throw new AgentEnvironmentError(`${source}: ${name} is reserved for Ouija and is never given to an agent`);
  }
}

export function agentEnvironment(options: AgentEnvironmentOptions): Record<string, string> {
  const base = options.base ?? process.env;
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  // No colour codes or pagers: output is parsed line by line, and nobody is at the terminal.
  env.TERM = 'dumb';
  env.HOME = options.home;
  env.TMPDIR = options.tmpDir;
  for (const name of options.passEnv ?? []) {
    checkConfigName(name, 'passEnv');
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    checkConfigName(name, 'env');
    env[name] = value;
  }
  for (const [name, value] of Object.entries(options.extra)) {
    if (!TASK_VARIABLE.test(name) || name.endsWith('_SECRET')) {
      throw new AgentEnvironmentError(`${name} is not an OUIJA_* task variable`);
    }
    env[name] = value;
  }
  return env;
}
