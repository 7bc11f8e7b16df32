/**
 * One Temporal worker per task queue, so a failing board API cannot stop agents and a slow git remote cannot
 * stop notifications. `startWorkers` runs any subset of them in this process (all of them for `ouija dev`).
 */
import { IllegalStateError, type LogLevel, type LogMetadata } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { AgentActivities, BoardActivities, LimiterActivities, NotifyActivities, WorkspaceActivities } from '../activities';
import { cardKeyOfWorkflow } from '../activities/logger';
import { COORDINATION_OVERHEAD_BUCKETS, COORDINATION_OVERHEAD_METRIC } from '../workflows/coordination-overhead';
import { TASK_QUEUES, hostQueue } from '../workflows/messages';
import type { Logger } from '../src/log';
import { setSdkMetricsUrl } from '../src/metrics';

export type QueueName = keyof typeof TASK_QUEUES;
export const ALL_QUEUES = Object.keys(TASK_QUEUES) as QueueName[];

export interface QueueActivities {
  agents: AgentActivities;
  git: WorkspaceActivities;
  board: BoardActivities;
  notify: NotifyActivities;
  /** Run by the workflow worker: its card workflows' local activity that signals limiters, and the limiters' sweep. */
  workflows?: LimiterActivities;
}

export interface StartWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  queues: QueueName[];
  activities: QueueActivities;
  /**
   * Concurrent agent activities of the shared agents queue in this worker (workflows from before the cluster-wide
   * limit run their agents there). Workflows under it hold a slot of the cluster-wide pool for every agent.
   */
  maxConcurrentAgents: number;
  /**
   * This host's ID (workers/host.ts). A worker of the git or agents queue also serves the host's own queues, where a
   * card's work goes once this host has made its worktree. Undefined: shared queues only.
   */
  hostId?: string;
  /** Agent activities the host's own agents queue runs at once; the cluster-wide slots are the real limit. */
  maxAgentsOnHost?: number;
  /** The workflow worker's cache size (config `workers.maxCachedWorkflows`); undefined: the SDK's default. */
  maxCachedWorkflows?: number;
  /** A prebuilt workflow bundle (tests build one once); default: bundle `workflows/` at start. */
  workflowBundle?: { codePath: string };
  log: Logger;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped (after shutdown() or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;
/** Start-up chatter that says nothing wrong: each per-queue worker runs only workflows or only activities. */
const QUIET = /^No (activities|workflows) registered/;
const SEVERITIES: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const satisfies Record<LogLevel, string>;

/**
 * Installs the process's Temporal runtime once, before any worker or native connection exists:
 * - the SDK's logs go into Ouija's JSON log (see `sdkLogger`);
 * - its metrics, and the workflow metric meter's, are exported in Prometheus format on
 *   127.0.0.1:`OUIJA_SDK_METRICS_PORT` (default: a free port picked now), which `GET /metrics` scrapes and
 *   appends to Ouija's own (src/http/metrics-route.ts).
 */
export function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  const logger = sdkLogger(log);
  const configured = process.env.OUIJA_SDK_METRICS_PORT;
  const ports = configured ? [parsePort(configured)] : randomPorts(20);
  let lastError: unknown;
  for (const port of ports) {
    try {
      Runtime.install({ logger, telemetryOptions: { metrics: prometheusOn(port) } });
      runtimeInstalled = true;
      setSdkMetricsUrl(`http://127.0.0.1:${port}/metrics`);
      log.debug({ port }, 'Temporal SDK metrics exporter listening');
      return;
    } catch (err) {
      // Already installed by the host process (a test environment, say): keep its settings.
      if (err instanceof IllegalStateError) {
        runtimeInstalled = true;
        return;
      }
      // The exporter binds at install: a port taken since we picked it fails here, so try another.
      lastError = err;
    }
  }
  throw new Error(`could not start the Temporal SDK metrics exporter (set OUIJA_SDK_METRICS_PORT to a free port): ${(lastError as Error).message}`, { cause: lastError });
}

function prometheusOn(port: number) {
  return {
    prometheus: {
      bindAddress: `127.0.0.1:${port}`,
      histogramBucketOverrides: { [COORDINATION_OVERHEAD_METRIC]: COORDINATION_OVERHEAD_BUCKETS },
    },
  };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`OUIJA_SDK_METRICS_PORT must be a port number, not ${JSON.stringify(value)}`);
  return port;
}

/** Candidates from the dynamic range (49152–65535); installing binds one, so a taken port just fails over. */
function randomPorts(n: number): number[] {
  return Array.from({ length: n }, () => 49152 + Math.floor(Math.random() * (65536 - 49152)));
}

/**
 * Routes the SDK's logs into Ouija's JSON log. Workflow code's own lines (the workflow `log`) pass at
 * Ouija's log level; the SDK's internals only at WARN and up unless TEMPORAL_LOG_LEVEL says otherwise.
 */
function sdkLogger(log: Logger): DefaultLogger {
  const threshold = SEVERITIES.indexOf((process.env.TEMPORAL_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel);
  const sdkLog = log.child({ component: 'temporal-sdk' });
  return new DefaultLogger('TRACE', ({ level, message, meta }) => {
    const fromWorkflowCode = meta?.sdkComponent === 'workflow';
    if (!fromWorkflowCode && SEVERITIES.indexOf(level) < threshold) return;
    if (QUIET.test(message)) return;
    sdkLog[PINO_METHOD[level]](withCardContext(meta), message);
  });
}

/**
 * The SDK's metadata with Ouija's field names: `card` (from a card workflow's ID), `runId` for activities'
 * `workflowRunId`; the activity task token is dropped (it is a credential to complete the activity).
 */
export function withCardContext(meta: LogMetadata | undefined): LogMetadata {
  const { taskToken: _taskToken, workflowRunId, ...rest } = meta ?? {};
  const card = cardKeyOfWorkflow(typeof rest.workflowId === 'string' ? rest.workflowId : undefined);
  return {
    ...rest,
    ...(card ? { card } : {}),
    ...(workflowRunId !== undefined && rest.runId === undefined ? { runId: workflowRunId } : {}),
  };
}

export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  installRuntime(options.log);
  const perQueue = workerOptionsPerQueue(options);
  const all = [...options.queues.map((q) => perQueue[q]()), ...hostWorkerOptions(options)];
  const workers = await Promise.all(all.map((o) => Worker.create(o)));
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  options.log.info({ queues: all.map((o) => o.taskQueue), host: options.hostId }, 'workers running');
  return {
    workers,
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

/** The Temporal worker options of each task queue's worker. */
export function workerOptionsPerQueue(options: StartWorkersOptions): Record<QueueName, () => WorkerOptions> {
  const base = { connection: options.connection, namespace: options.namespace, shutdownGraceTime: '10s' };
  return {
    workflows: () => ({
      ...base,
      taskQueue: TASK_QUEUES.workflows,
      ...(options.activities.workflows ? { activities: options.activities.workflows } : {}),
      ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    }),
    agents: () => agentWorker(base, TASK_QUEUES.agents, options.activities.agents, options.maxConcurrentAgents),
    git: () => ({ ...base, taskQueue: TASK_QUEUES.git, activities: options.activities.git }),
    board: () => ({ ...base, taskQueue: TASK_QUEUES.board, activities: options.activities.board }),
    notify: () => ({ ...base, taskQueue: TASK_QUEUES.notify, activities: options.activities.notify }),
  };
}

/**
 * The workers of this host's own queues: `ouija-git@<host>` beside the git queue, `ouija-agents@<host>` beside the
 * agents queue. Nothing waits there for a slot of this worker (a wait longer than the schedule-to-start timeout
 * would declare the host lost): the cluster-wide agent slots already bound what arrives.
 */
export function hostWorkerOptions(options: StartWorkersOptions): WorkerOptions[] {
  const host = options.hostId;
  if (host === undefined) return [];
  const base = { connection: options.connection, namespace: options.namespace, shutdownGraceTime: '10s' };
  const workers: WorkerOptions[] = [];
  if (options.queues.includes('git')) workers.push({ ...base, taskQueue: hostQueue(host, 'git'), activities: options.activities.git });
  if (options.queues.includes('agents')) {
    const slots = Math.max(options.maxAgentsOnHost ?? options.maxConcurrentAgents, options.maxConcurrentAgents);
    workers.push(agentWorker(base, hostQueue(host, 'agents'), options.activities.agents, slots));
  }
  return workers;
}

function agentWorker(base: Pick<WorkerOptions, 'connection' | 'namespace' | 'shutdownGraceTime'>, taskQueue: string, activities: AgentActivities, slots: number): WorkerOptions {
  return {
    ...base,
    taskQueue,
    activities,
    maxConcurrentActivityTaskExecutions: slots,
    // Heartbeats carry cancellations back: flush them often so a cancelled agent dies within seconds.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  };
}
