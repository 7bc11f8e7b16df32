/**
 * One Temporal worker per task queue, so a failing board API cannot stop agents and a slow git remote cannot
 * stop notifications. `startWorkers` runs any subset of them in this process (all of them for `ouija dev`).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { AgentActivities, BoardActivities, NotifyActivities, WorkspaceActivities } from '../activities';
import { TASK_QUEUES } from '../workflows/messages';
import type { Logger } from '../src/log';

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

/** Routes the SDK's own logs (WARN and up unless TEMPORAL_LOG_LEVEL says otherwise) into Ouija's JSON log. */
export function installRuntime(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as 'WARN';
  const sdkLog = log.child({ component: 'temporal-sdk' });
  const logger = new DefaultLogger(level, ({ level: l, message, meta }) => {
    if (QUIET.test(message)) return;
    const method = l === 'ERROR' ? 'error' : l === 'WARN' ? 'warn' : l === 'INFO' ? 'info' : 'debug';
    sdkLog[method](meta ?? {}, message);
  });
  try {
    Runtime.install({ logger });
  } catch {
    // Already installed by the host process: keep its settings.
  }
}

export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  installRuntime(options.log);
  const base = { connection: options.connection, namespace: options.namespace, shutdownGraceTime: '10s' };
  const perQueue: Record<QueueName, () => WorkerOptions> = {
    workflows: () => ({
      ...base,
      taskQueue: TASK_QUEUES.workflows,
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
