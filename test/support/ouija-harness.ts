/**
 * A whole Ouija for an integration test: a fresh Postgres database, a throwaway bare git remote, its own
 * Temporal namespace (test files run in parallel against one dev server), all workers and the HTTP server,
 * driven through the same HTTP API a user has.
 */
import fs from 'node:fs';
import { workflowIdForCard } from '../../src/core/cards';
import type { CardState } from '../../src/core/types';
import type { DeepPartial, OuijaConfig } from '../../src/config';
import { log } from '../../src/log';
import { stateQuery } from '../../workflows/messages';
import { startOuija, type RunningOuija } from '../../workers/all-in-one';
import type { QueueName } from '../../workers/queues';
import type { Worker } from '@temporalio/worker';
import { TASK_QUEUES } from '../../workflows/messages';
import type { TestDatabase } from './database';
import { isolatedOuija } from './isolated-ouija';

export const WEBHOOK_SECRET = 'test-builtin-secret';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Harness {
  ouija: RunningOuija;
  config: OuijaConfig;
  database: TestDatabase;
  remote: string;
  /** Every allowed remote (`remote` first). */
  remotes: string[];
  workDir: string;
  api(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Json }>;
  /** Creates a board on the remote (default `remote`) and a card on it (in backlog). */
  newCard(title: string, body?: string, remote?: string): Promise<{ boardId: string; cardId: string; cardKey: string; workflowId: string; version: number }>;
  state(cardKey: string): Promise<CardState>;
  waitFor(cardKey: string, check: (s: CardState) => boolean, what: string, timeoutMs?: number): Promise<CardState>;
  stop(): Promise<void>;
}

/**
 * `databaseServerUrl`: put its database on this Postgres server instead of OUIJA_TEST_DATABASE_URL's.
 * `temporalAddress`: use this Temporal server instead of TEMPORAL_ADDRESS's.
 * `queues`: the task queues this process's workers serve (default all; the rest run elsewhere, e.g. agent hosts).
 * `extraRemotes`: more allowed bare remotes beside `remote`.
 */
export async function startHarness(
  overrides: DeepPartial<OuijaConfig> = {},
  options: { databaseServerUrl?: string; temporalAddress?: string; queues?: QueueName[]; extraRemotes?: number } = {},
): Promise<Harness> {
  const address = options.temporalAddress ?? process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set (the integration globalSetup sets it)');
  const { config, database, remote, remotes, workDir } = await isolatedOuija({
    address,
    prefix: 'ouija-test',
    builtinWebhookSecret: WEBHOOK_SECRET,
    databaseServerUrl: options.databaseServerUrl,
    extraRemotes: options.extraRemotes,
    overrides: { ...overrides, agent: { heartbeatTimeoutMs: 10_000, silenceTimeoutMs: 5_000, maxAttempts: 2, ...overrides.agent } },
  });
  // The SDK's warnings about activities failing on purpose would drown the test output.
  process.env.TEMPORAL_LOG_LEVEL ??= 'ERROR';
  const bundle = process.env.OUIJA_TEST_WORKFLOW_BUNDLE;
  const ouija = await startOuija({ config, temporalAddress: address, http: true, log, queues: options.queues, workflowBundle: bundle ? { codePath: bundle } : undefined });

  const api: Harness['api'] = async (method, route, body, headers = {}) => {
    const res = await fetch(`${ouija.url}${route}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed };
  };

  let boards = 0;
  const harness: Harness = {
    ouija,
    config,
    database,
    remote,
    remotes,
    workDir,
    api,
    async newCard(title, body = '', repo = remote) {
      const board = await api('POST', '/api/boards', { id: `b${++boards}`, name: 'Test board', repo });
      if (board.status !== 201) throw new Error(`create board: ${JSON.stringify(board.body)}`);
      const card = await api('POST', `/api/boards/${board.body.id}/cards`, { title, body });
      if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
      const cardKey = `builtin:${board.body.id}:${card.body.id}`;
      return { boardId: board.body.id, cardId: card.body.id, cardKey, workflowId: workflowIdForCard(cardKey), version: card.body.version };
    },
    state: (cardKey) => ouija.temporal.workflow.getHandle(workflowIdForCard(cardKey)).query(stateQuery),
    async waitFor(cardKey, check, what, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      let last: CardState | null = null;
      for (;;) {
        last = await harness.state(cardKey).catch(() => last);
        if (last && check(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      await ouija.stop();
      await database.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/**
 * This process's workers of `queue`: the shared queue's and, for git and agents, this host's own queue's
 * (`ouija-agents@<host>`). A test that hands a queue to another process with the same data directory (the same
 * host) stops both.
 */
export function workersOf(h: Pick<Harness, 'ouija'>, queue: QueueName): Worker[] {
  const shared = TASK_QUEUES[queue];
  return (h.ouija.workers?.workers ?? []).filter((w) => w.options.taskQueue === shared || w.options.taskQueue.startsWith(`${shared}@`));
}
