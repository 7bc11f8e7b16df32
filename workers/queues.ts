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
/** The SDK's own logs: warnings and errors only, unless TEMPORAL_LOG_LEVEL says otherwise. */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });
  } catch {
    // Already installed by the host process (e.g. a test): keep its settings.
  }
}

export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  installRuntime();
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
