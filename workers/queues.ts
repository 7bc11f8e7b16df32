/**
 * One Temporal worker per task queue, so a failing board API cannot stop agents and a slow git remote cannot
 * stop notifications. `startWorkers` runs any subset of them in this process (all of them for `ouija dev`).
 */
import { IllegalStateError, type LogLevel, type LogMetadata } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { AgentActivities, BoardActivities, NotifyActivities, WorkspaceActivities } from '../activities';
import { cardKeyOfWorkflow } from '../activities/logger';
import { COORDINATION_OVERHEAD_BUCKETS, COORDINATION_OVERHEAD_METRIC } from '../workflows/coordination-overhead';
import { TASK_QUEUES } from '../workflows/messages';
import type { Logger } from '../src/log';
import { setSdkMetricsUrl } from '../src/metrics';

export type QueueName = keyof typeof TASK_QUEUES;
export const ALL_QUEUES = Object.keys(TASK_QUEUES) as QueueName[];

export interface QueueActivities {
  agents: AgentActivities;
  git: WorkspaceActivities;
  board: BoardActivities;
  notify: NotifyActivities;
}

export interface StartWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  queues: QueueName[];
  activities: QueueActivities;
  /** Concurrent agent processes this worker runs at most (across workers: sum of these, see docs). */
  maxConcurrentAgents: number;
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
  const workers = await Promise.all(options.queues.map((q) => Worker.create(perQueue[q]())));
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  options.log.info({ queues: options.queues }, 'workers running');
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
      ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    }),
    agents: () => ({
      ...base,
      taskQueue: TASK_QUEUES.agents,
      activities: options.activities.agents,
      maxConcurrentActivityTaskExecutions: options.maxConcurrentAgents,
      // Heartbeats carry cancellations back: flush them often so a cancelled agent dies within seconds.
      maxHeartbeatThrottleInterval: '1s',
      defaultHeartbeatThrottleInterval: '1s',
    }),
    git: () => ({ ...base, taskQueue: TASK_QUEUES.git, activities: options.activities.git }),
    board: () => ({ ...base, taskQueue: TASK_QUEUES.board, activities: options.activities.board }),
    notify: () => ({ ...base, taskQueue: TASK_QUEUES.notify, activities: options.activities.notify }),
  };
}
