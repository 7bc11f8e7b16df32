/**
 * Composition root: wires configuration, Postgres, Temporal, plugins, activities, workers and the HTTP front
 * end into one running Ouija. `ouija dev`, `ouija demo`, `ouija worker`, `ouija api` and the integration tests
 * all start Ouija through here, each with the parts it needs.
 */
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createAgentActivities, createBoardActivities, createNotifyActivities, createWorkspaceActivities } from '../activities';
import { createLimiterActivities } from '../activities/limits';
import { agentFor, GITHUB_DEFAULTS, reviewMaxCardsFor, type OuijaConfig } from '../src/config';
import { validatePipeline } from '../src/core/state';
import { connectDatabase, migrateToLatest, type Database } from '../src/db';
import { createHttpApp } from '../src/http/app';
import type { IngestDeps } from '../src/ingest';
import type { Logger } from '../src/log';
import { secretsRoot } from '../src/secrets-dir';
import { killAllAgentProcessGroups } from '../src/plugins/agent';
import { createAdapter } from '../src/plugins/agent/adapters';
import { createWorkspaces } from '../src/plugins/git';
import { localForge } from '../src/plugins/git/forges/local';
import { builtinBoardClient, builtinWebhookProvider } from '../src/plugins/kanban/builtin';
import { githubWebhookProvider } from '../src/plugins/kanban/github/webhook';
import { logNotifier } from '../src/plugins/notify/log-notifier';
import { startBoardReconcilers, type Reconciler } from '../src/reconcile';
import { forgeSelector, githubOutbound } from './github';
import { hostIdFor } from './host';
import { ALL_QUEUES, installRuntime, startWorkers, type QueueName, type RunningWorkers } from './queues';
import { startWorkerHttp, urlHost } from './worker-http';

export interface StartOuijaOptions {
  config: OuijaConfig;
  /** Where Temporal's frontend is (a dev server we started, or TEMPORAL_ADDRESS). */
  temporalAddress: string;
  queues?: QueueName[];
  /** Serve HTTP (webhooks, board API, health) on config.host:config.port (port 0 = any free port). */
  http?: boolean;
  /** Serve the workers' own /healthz, /readyz and /metrics on this port of config.host (`ouija worker`, WORKER_PORT). */
  workerHttpPort?: number;
  workflowBundle?: { codePath: string };
  log: Logger;
}

export interface RunningOuija {
  db: Kysely<Database>;
  databaseKind: 'postgres' | 'pglite';
  temporal: Client;
  ingest: IngestDeps;
  workers: RunningWorkers | null;
  /** This process's host ID when it runs the git or agents queue (its own task queues are named after it). */
  hostId: string | null;
  /** e.g. http://127.0.0.1:3000 when serving HTTP. */
  url: string | null;
  /** The workers' health and metrics endpoint, when asked for. */
  workerUrl: string | null;
  /** Board reconcilers (missed webhooks), running with the HTTP front end when their interval is > 0. */
  reconcilers: Reconciler[];
  stop(): Promise<void>;
}

/** `[f()]`, or `[]` when it throws (no HOME: then no generated secrets either). */
function optional(f: () => string): string[] {
  try {
    return [f()];
  } catch {
    return [];
  }
}

export async function startOuija(options: StartOuijaOptions): Promise<RunningOuija> {
  const { config, log } = options;
  const stack: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const fn of stack.reverse()) await fn().catch((err) => log.warn({ err }, 'error while stopping'));
  };
  try {
    const database = await connectDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    stack.push(() => database.close());
    await migrateToLatest(database.db);
    const db = database.db;

    const connection = await Connection.connect({ address: options.temporalAddress });
    stack.push(() => connection.close());
    const temporal = new Client({ connection, namespace: config.temporal.namespace });

    const ingest: IngestDeps = {
      db,
      temporal,
      log,
      pipeline: config.pipeline,
      allowedRepos: config.repos.allow,
      cardSettings: {
        agentTimeoutMs: config.agent.timeoutMs,
        agentHeartbeatTimeoutMs: config.agent.heartbeatTimeoutMs,
        agentMaxAttempts: config.agent.maxAttempts,
        activityHeartbeatTimeoutMs: config.activities.heartbeatTimeoutMs,
        crashRetries: config.activities.crashRetries,
        continueAsNewAfterEvents: config.continueAsNewAfterEvents,
        agentMaxConcurrent: config.agent.maxConcurrent,
        hostLostAfterMs: config.workers.hostLostAfterMs,
      },
      reviewMaxCardsFor: (card) => reviewMaxCardsFor(config, card.ref.boardId),
    };

    const github = githubOutbound(config, log);

    let workers: RunningWorkers | null = null;
    const queues = options.queues ?? ALL_QUEUES;
    const holdsWorkspaces = queues.includes('git') || queues.includes('agents');
    const hostId = holdsWorkspaces ? hostIdFor(config) : null;
    if (queues.length > 0) {
      const workspaces = createWorkspaces({ root: path.join(config.dataDir, 'workspaces') });
      installRuntime(log);
      const nativeConnection = await NativeConnection.connect({ address: options.temporalAddress });
      stack.push(() => nativeConnection.close());
      workers = await startWorkers({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        queues,
        maxConcurrentAgents: config.agent.maxConcurrent,
        ...(hostId !== null ? { hostId, maxAgentsOnHost: Math.max(config.agent.maxConcurrent, widestGroup(config)) } : {}),
        maxCachedWorkflows: config.workers.maxCachedWorkflows,
        workflowBundle: options.workflowBundle,
        log,
        activities: {
          workflows: createLimiterActivities(temporal, { sweepEveryMs: config.workers.limiterSweepMs }),
          git: createWorkspaceActivities({
            workspaces,
            ...(hostId !== null ? { hostId } : {}),
            forgeFor: forgeSelector(localForge(db), github),
            pushSecretsFor: (card) => github?.pushSecretsFor(card),
            allowedRepos: config.repos.allow,
          }),
          agents: createAgentActivities({
            db,
            workspaces,
            agentFor: (boardId, step) => {
              const { profile } = agentFor(config, boardId, step);
              return { adapter: createAdapter(profile), silenceTimeoutMs: profile.silenceTimeoutMs, passEnv: profile.passEnv, env: profile.env, sandbox: profile.sandbox, session: profile.session };
            },
            runsRoot: path.join(config.dataDir, 'runs'),
            // Every instance's generated secrets live under secretsRoot() (src/secrets-dir.ts): hidden as a whole.
            privateDirs: [config.dataDir, ...optional(secretsRoot)],
          }),
          board: createBoardActivities({ builtin: builtinBoardClient(db), ...(github ? { github: github.board } : {}) }),
          notify: createNotifyActivities(logNotifier(log)),
        },
      });
      const running = workers;
      stack.push(async () => {
        await running.shutdown();
        killAllAgentProcessGroups();
      });
    }

    let url: string | null = null;
    if (options.http) {
      const app = createHttpApp({
        db,
        temporal,
        ingest,
        providers: [
          builtinWebhookProvider(db, config.secrets.builtinWebhook),
          ...(config.github || config.secrets.githubWebhook ? [githubWebhookProvider({ secret: config.secrets.githubWebhook, config: config.github ?? GITHUB_DEFAULTS, ...github?.lookups })] : []),
        ],
        maxBodyBytes: config.webhooks.maxBodyBytes,
        log,
      });
      const server = http.createServer(app);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, resolve);
      });
      url = `http://${urlHost(config.host)}:${(server.address() as AddressInfo).port}`;
      stack.push(() => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }));
    }
    let workerUrl: string | null = null;
    if (options.workerHttpPort !== undefined) {
      const running = workers;
      const workerHttp = await startWorkerHttp({ host: config.host, port: options.workerHttpPort, db, temporal, workers: () => running, log });
      workerUrl = workerHttp.url;
      stack.push(() => workerHttp.close());
    }
    // The front end owns the way in, so it also closes the gaps a lost webhook leaves; stopped before Temporal and Postgres.
    const reconcilers = options.http ? startBoardReconcilers({ config, ingest, log }) : [];
    stack.push(() => Promise.all(reconcilers.map((r) => r.stop())));
    return { db, databaseKind: database.kind, temporal, ingest, workers, hostId, url, workerUrl, reconcilers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The most agents one step of the pipeline runs at once: a parallel group's width, else 1. */
function widestGroup(config: Pick<OuijaConfig, 'pipeline'>): number {
  return Math.max(1, ...validatePipeline(config.pipeline).groups.map((group) => group.steps.length));
}
