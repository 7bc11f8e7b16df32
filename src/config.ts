/**
 * Ouija's settings: non-secret ones from `ouija.config.json` (optional), secrets and deployment facts from the
 * environment. Validated once with zod, so a typo fails at start with a clear message instead of mid-run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InvalidPipelineError, validatePipeline } from './core/state';

/** The adapters Ouija ships; each lives in src/plugins/agent/adapters/. */
export const ADAPTER_NAMES = ['command', 'demo', 'claude-code', 'codex', 'gemini', 'aider'] as const;

/** One agent: which CLI, how it is started and what it may see. */
const agentProfileSchema = z.object({
  /** Default: `command` when `command` is set, else the demo agent. */
  adapter: z.enum(ADAPTER_NAMES).optional(),
  /** The program to start (default: the adapter's CLI on PATH, e.g. `claude`; required for `command`). */
  command: z.string().min(1).optional(),
  /** Extra arguments, appended to the adapter's own. */
  args: z.array(z.string()).default([]),
  model: z.string().min(1).optional(),
  /** Tools the CLI may use, where it has such a setting (e.g. Claude Code's --allowedTools). */
  allowedTools: z.array(z.string().min(1)).optional(),
  /** Host environment variables the agent may see (e.g. its own API key). Nothing else is passed. */
  passEnv: z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/)).default([]),
  env: z.record(z.string(), z.string()).default({}),
  /** No output for this long = hung: the process group is killed and the attempt fails (retryable). */
  silenceTimeoutMs: z.number().int().positive().default(10 * 60_000),
  /**
   * `bwrap` (default): the agent runs in a bubblewrap sandbox that shows it its worktree, run dirs and tools only
   * (docs/AGENTS.md#sandbox); where bwrap is missing such agents are refused. `none`, said in so many words, runs
   * it unsandboxed.
   */
  sandbox: z.enum(['none', 'bwrap']).optional(),
  /**
   * Warm sessions (docs/AGENTS.md): `warm: true` continues one CLI session across a card's review rounds, keyed by
   * the card (never shared with another card) and replaced by a fresh one after `maxTasks` tasks. Default: cold,
   * a fresh session for every task.
   */
  session: z
    .strictObject({
      warm: z.boolean().default(false),
      maxTasks: z.number().int().min(1).max(1000).default(10),
    })
    .optional(),
});

/** Adapters that can keep a warm session: Claude Code (`--session-id` / `--resume`), and protocol agents (OUIJA_SESSION_DIR). */
export const WARM_SESSION_ADAPTERS: readonly (typeof ADAPTER_NAMES)[number][] = ['command', 'demo', 'claude-code'];

/** The default agent, plus the run-wide limits the workflow gives every agent step. */
const agentSchema = agentProfileSchema.extend({
  /** Longest an agent step may run (Temporal start-to-close). */
  timeoutMs: z.number().int().positive().default(30 * 60_000),
  /** Temporal heartbeat timeout: how soon a dead worker's agent is retried elsewhere. */
  heartbeatTimeoutMs: z.number().int().positive().default(30_000),
  maxAttempts: z.number().int().positive().default(3),
  /**
   * Agent processes at once across the whole cluster (every host), held as slots of a durable pool
   * (docs/ARCHITECTURE.md, "Limits"). Review, not CPU, is the real bottleneck.
   */
  maxConcurrent: z.number().int().positive().default(2),
});

const roleNamesSchema = z.array(z.string().min(1)).min(1);
const stepNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/);

/** GitHub as board (issues are cards; labels or a Projects v2 Status field are columns) and as forge. */
const githubSchema = z.object({
  apiUrl: z.string().url().default('https://api.github.com'),
  /** Clone URL template; `{owner}` and `{repo}` are filled in. */
  cloneUrl: z.string().min(1).default('https://github.com/{owner}/{repo}.git'),
  /** Per repository clone URL (`{"acme/widgets": "/srv/git/widgets.git"}`); wins over the template. */
  repoUrls: z.record(z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9_.-]+$/), z.string().min(1)).default({}),
  /** Repositories (`owner/repo`) whose issues are cards. */
  repos: z.array(z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9_.-]+$/, 'expected owner/repo')).default([]),
  /** Labels that place an issue in a column; compared case-insensitively, as GitHub does. */
  labels: z
    .object({ working: z.string().min(1).default('ouija'), review: z.string().min(1).default('ouija:review'), done: z.string().min(1).default('ouija:done') })
    .default({ working: 'ouija', review: 'ouija:review', done: 'ouija:done' }),
  /** A Projects v2 board whose single-select field's option names map onto column roles. */
  project: z
    .object({
      owner: z.string().min(1),
      number: z.number().int().positive(),
      statusField: z.string().min(1).default('Status'),
      columns: z
        .object({ working: roleNamesSchema.default(['In Progress']), review: roleNamesSchema.default(['In Review']), done: roleNamesSchema.default(['Done']) })
        .default({ working: ['In Progress'], review: ['In Review'], done: ['Done'] }),
    })
    .optional(),
  /** What finishes a card: an approving review, or only the merge. */
  doneOn: z.enum(['approved', 'merged']).default('approved'),
  /** How often to compare GitHub with the workflows (missed webhooks); 0 = never. */
  reconcileIntervalMs: z.number().int().min(0).default(60_000),
});

const fileSchema = z.object({
  dataDir: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  /** Interface the HTTP listener binds (`HOST`; default loopback). */
  host: z.string().min(1).optional(),
  temporal: z.object({ address: z.string().optional(), namespace: z.string().min(1).optional() }).default({}),
  /** Repositories cards may work on: exact URLs/paths, or prefixes ending in `*`. */
  repos: z.object({ allow: z.array(z.string().min(1)).default([]) }).default({ allow: [] }),
  /** Card workflows continue-as-new once their history has this many events (and nothing is in flight). */
  continueAsNewAfterEvents: z.number().int().min(10).default(2_000),
  /**
   * Agent steps in order; `{"parallel": [...], "onFailure": "fail-fast" | "wait-all" | "best-effort"}` runs a group
   * of steps at once, each in its own worktree, merged into the card's branch when they are done.
   */
  pipeline: z
    .array(
      z.union([
        stepNameSchema,
        z.object({ parallel: z.array(stepNameSchema).min(2), onFailure: z.enum(['fail-fast', 'wait-all', 'best-effort']).default('fail-fast') }),
      ]),
    )
    .min(1)
    .default(['implement']),
  agent: agentSchema.default(agentSchema.parse({})),
  /** Named agents, chosen per board and per pipeline step below (the default is `agent`). */
  agents: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,39}$/), agentProfileSchema).default({}),
  /** Which named agent runs a step (`{"plan": "claude"}`), for every board unless the board says otherwise. */
  stepAgents: z.record(z.string(), z.string()).default({}),
  /** Per board: `{"<board id>": {"agent": "codex", "stepAgents": {...}}}`. */
  boards: z
    .record(
      z.string(),
      z.object({
        agent: z.string().optional(),
        stepAgents: z.record(z.string(), z.string()).default({}),
        /** This board's own review limit (wins over the top-level `review.maxCards`). */
        review: z.strictObject({ maxCards: z.number().int().positive().optional() }).optional(),
      }),
    )
    .default({}),
  /**
   * Cards of one board in review at once (across the cluster): the next card to finish its steps waits in the
   * phase `queued` until a review ends. Unset: no limit.
   */
  review: z.strictObject({ maxCards: z.number().int().positive().optional() }).default({}),
  github: githubSchema.optional(),
  /**
   * The git, board and notify activities (agents have `agent.heartbeatTimeoutMs`): a worker that dies mid-step is
   * noticed, and the step retried elsewhere, after this much silence.
   */
  activities: z
    .object({
      heartbeatTimeoutMs: z.number().int().positive().default(30_000),
      /** Extra attempts a step may spend on crashed workers (its own failures are capped by the max attempts). */
      crashRetries: z.number().int().min(0).default(10),
    })
    .default({ heartbeatTimeoutMs: 30_000, crashRetries: 10 }),
  webhooks: z.object({ maxBodyBytes: z.number().int().positive().default(25 * 1024 * 1024) }).default({ maxBodyBytes: 25 * 1024 * 1024 }),
  /** How often to compare the built-in board with the workflows (a card moved without its event); 0 = never. */
  reconcileIntervalMs: z.number().int().min(0).default(60_000),
  /**
   * Card workflows the workflow worker keeps in memory (the SDK's `maxCachedWorkflows`; unset: the SDK's default,
   * about 600 per GiB of heap). A card evicted while it waits (for a workspace, an agent slot) replays its whole
   * history at its next step: raise it when more cards than that wait at once. See docs/PERFORMANCE.md.
   */
  workers: z
    .strictObject({
      maxCachedWorkflows: z.number().int().min(2).optional(),
      /** This host's ID, naming its own task queues (default: host name + data dir fingerprint; `OUIJA_HOST_ID` wins). */
      hostId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/).optional(),
      /**
       * A host that takes none of a card's tasks for this long is lost: the card moves to another host and starts its
       * round again from what was pushed. Long enough for a worker to restart.
       */
      hostLostAfterMs: z.number().int().min(1_000).default(60_000),
      /**
       * How often a limiter (docs/ARCHITECTURE.md, "Limits") checks, while slots are held, that each holder's card
       * workflow still runs, freeing the slots of those that do not (terminated by an operator).
       */
      limiterSweepMs: z.number().int().min(1_000).default(60_000),
    })
    .default({ hostLostAfterMs: 60_000, limiterSweepMs: 60_000 }),
});

export type GithubSettings = z.infer<typeof githubSchema>;
/** The `github` section with every default: for a webhook secret set without a `github` section. */
export const GITHUB_DEFAULTS: GithubSettings = githubSchema.parse({});
export type AgentSettings = z.infer<typeof agentSchema>;
export type AgentProfile = z.infer<typeof agentProfileSchema>;

export interface OuijaConfig extends Omit<z.infer<typeof fileSchema>, 'dataDir' | 'port' | 'host' | 'temporal'> {
  temporal: { address?: string; namespace: string };
  dataDir: string;
  port: number;
  host: string;
  databaseUrl?: string;
  secrets: { builtinWebhook?: string; githubWebhook?: string; githubToken?: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `ouija.config.json` in `cwd` (if present) and the environment; `overrides` win (used by demo and tests). */
export function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv; overrides?: DeepPartial<OuijaConfig> } = {}): OuijaConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = path.join(cwd, 'ouija.config.json');
  let raw: unknown = {};
  if (fs.existsSync(file)) {
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${file}: ${(err as Error).message}`);
    }
  }
  const merged = deepMerge(raw, stripSecrets(options.overrides ?? {}));
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  const cfg = parsed.data;
  try {
    validatePipeline(cfg.pipeline);
  } catch (err) {
    if (err instanceof InvalidPipelineError) throw new ConfigError(`invalid configuration: pipeline: ${err.message}`);
    throw err;
  }
  for (const name of agentNamesUsed(cfg)) {
    if (!(name in cfg.agents)) throw new ConfigError(`invalid configuration: agent "${name}" is used but not defined under "agents"`);
  }
  for (const [name, profile] of [['agent', cfg.agent] as const, ...Object.entries(cfg.agents).map(([n, p]) => [`agents.${n}`, p] as const)]) {
    const adapter = profile.adapter ?? (profile.command ? 'command' : 'demo');
    if (profile.session?.warm && !WARM_SESSION_ADAPTERS.includes(adapter)) {
      throw new ConfigError(`invalid configuration: ${name}.session.warm: the ${adapter} adapter cannot keep a warm session (only ${WARM_SESSION_ADAPTERS.join(', ')})`);
    }
  }
  const dataDir = path.resolve(cwd, cfg.dataDir ?? env.OUIJA_DATA_DIR ?? '.ouija');
  return {
    ...cfg,
    dataDir,
    port: cfg.port ?? portOf(env.PORT) ?? 3000,
    host: cfg.host ?? env.HOST ?? '127.0.0.1',
    temporal: {
      address: cfg.temporal.address ?? env.TEMPORAL_ADDRESS,
      namespace: cfg.temporal.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    },
    databaseUrl: options.overrides?.databaseUrl ?? env.DATABASE_URL,
    secrets: {
      builtinWebhook: options.overrides?.secrets?.builtinWebhook ?? env.OUIJA_BUILTIN_WEBHOOK_SECRET,
      githubWebhook: options.overrides?.secrets?.githubWebhook ?? env.OUIJA_GITHUB_WEBHOOK_SECRET,
      githubToken: options.overrides?.secrets?.githubToken ?? env.GITHUB_TOKEN,
    },
  };
}

export type DeepPartial<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends unknown[] ? T[K] : NonNullable<T[K]> extends object ? DeepPartial<NonNullable<T[K]>> : T[K];
};

function stripSecrets(overrides: DeepPartial<OuijaConfig>): Record<string, unknown> {
  const { secrets: _secrets, databaseUrl: _url, ...rest } = overrides;
  return rest;
}

function deepMerge(base: unknown, extra: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(extra)) return extra === undefined ? base : extra;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) out[key] = deepMerge(base[key], value);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function agentNamesUsed(cfg: z.infer<typeof fileSchema>): string[] {
  const boards = Object.values(cfg.boards);
  return [
    ...Object.values(cfg.stepAgents),
    ...boards.flatMap((b) => [...(b.agent ? [b.agent] : []), ...Object.values(b.stepAgents)]),
  ];
}

/** The agent profile for a step of a card on a board: board step → board default → step → the default agent. */
export function agentFor(config: Pick<OuijaConfig, 'agent' | 'agents' | 'stepAgents' | 'boards'>, boardId: string, step: string): { name: string; profile: AgentProfile } {
  const board = config.boards[boardId];
  const name = board?.stepAgents[step] ?? board?.agent ?? config.stepAgents[step];
  if (name === undefined) return { name: 'default', profile: config.agent };
  const profile = config.agents[name];
  if (!profile) throw new ConfigError(`agent "${name}" is not defined under "agents"`);
  return { name, profile };
}

/** The review limit of a board: its own, else the top-level one; null: none. */
export function reviewMaxCardsFor(config: Pick<OuijaConfig, 'review' | 'boards'>, boardId: string): number | null {
  return config.boards[boardId]?.review?.maxCards ?? config.review.maxCards ?? null;
}

function portOf(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a port number (0–65535), not ${JSON.stringify(value)}`);
  return port;
}
