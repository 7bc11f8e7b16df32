/**
 * Some of a harness's task queues served by a worker in a process of its own, as a production deployment runs
 * them (`ouija worker -q agents git`): the harness's own workers for those queues are shut down first. A process
 * that spawns git and agents should be small: Node forks to spawn, copying the parent's page tables, and the
 * harness process (HTTP, ingest, workflows, the scenario's own bookkeeping) is large (docs/PERFORMANCE.md).
 */
import { TASK_QUEUES } from '../../../workflows/messages';
import type { QueueName } from '../../../workers/queues';
import type { Harness } from '../../support/ouija-harness';
import { startWorkerProcess, stopKillableWorker } from './killable-process';

export interface WorkersApart {
  pid: number;
  stop(): Promise<void>;
}

export async function startWorkersApart(h: Harness, queues: QueueName[]): Promise<WorkersApart> {
  // The shared queues and this host's own ones (`ouija-git@<host>`): the process apart has the same data directory.
  const taskQueues = queues.map((q) => TASK_QUEUES[q]);
  const served = (taskQueue: string) => taskQueues.some((q) => taskQueue === q || taskQueue.startsWith(`${q}@`));
  await Promise.all((h.ouija.workers?.workers ?? []).filter((w) => served(w.options.taskQueue)).map((w) => w.shutdown()));
  const child = await startWorkerProcess(h.config, queues, process.env.TEMPORAL_ADDRESS!);
  return { pid: child.proc.pid!, stop: () => stopKillableWorker(child) };
}
