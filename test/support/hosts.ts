/**
 * Several hosts of one Ouija in tests: worker processes with data directories of their own (as separate machines
 * would have), where each card's activities ran according to its history, and which agent processes are left.
 */
import fs from 'node:fs';
import { temporal } from '@temporalio/proto';
import { workflowIdForCard } from '../../src/core/cards';
import { LIFECYCLE_EFFECT_TYPES } from '../../src/core/types';
import { hostIdFor } from '../../workers/host';
import type { QueueName } from '../../workers/queues';
import { startKillableWorker, type KillableWorker } from '../reliability/support/killable-process';
import type { KillPlan } from '../reliability/support/killable-worker';
import type { Harness } from './ouija-harness';

const EventType = temporal.api.enums.v1.EventType;
const WORKSPACE_ACTIVITIES: ReadonlySet<string> = new Set(LIFECYCLE_EFFECT_TYPES);

/**
 * `ouija worker -q <queues>` in a process of its own, with `h`'s configuration but data directory `dataDir` (so a
 * process running git and agents is a host of its own). `bundlePath`: a prebuilt workflow bundle, for a workflows worker.
 */
export function workerProcess(h: Pick<Harness, 'config'>, queues: QueueName[], dataDir: string, bundlePath?: string): Promise<KillableWorker> {
  const plan: KillPlan = { targets: [], killLog: '', remote: '', agentDelayMs: 0, armAt: 0 };
  return startKillableWorker({
    ...process.env,
    OUIJA_KILLABLE_CONFIG: JSON.stringify({ ...h.config, dataDir, secrets: {} }),
    OUIJA_KILL_PLAN: JSON.stringify(plan),
    OUIJA_WORKER_QUEUES: queues.join(','),
    OUIJA_LOG_LEVEL: 'warn',
    ...(bundlePath ? { OUIJA_TEST_WORKFLOW_BUNDLE: bundlePath } : {}),
  });
}

/** The host ID a worker process with data directory `dataDir` has (no OUIJA_HOST_ID set). */
export function hostIdOfDataDir(dataDir: string): string {
  return hostIdFor({ dataDir, workers: {} }, {});
}

export interface Placement {
  type: string;
  activityId: string;
  /** The task queue it was scheduled on. */
  queue: string;
  /** The identity of the worker that started its last attempt. */
  worker: string;
}

/** Every workspace activity of a card's history that started, in order: where it was scheduled and who ran it. */
export async function placements(h: Pick<Harness, 'ouija'>, cardKey: string): Promise<Placement[]> {
  const history = await h.ouija.temporal.workflow.getHandle(workflowIdForCard(cardKey)).fetchHistory();
  const scheduled = new Map<string, Omit<Placement, 'worker'>>();
  const out: Placement[] = [];
  for (const event of history.events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const attrs = event.activityTaskScheduledEventAttributes!;
      const type = attrs.activityType?.name ?? '';
      if (WORKSPACE_ACTIVITIES.has(type)) scheduled.set(String(event.eventId), { type, activityId: attrs.activityId ?? '', queue: attrs.taskQueue?.name ?? '' });
    }
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const attrs = event.activityTaskStartedEventAttributes!;
      const activity = scheduled.get(String(attrs.scheduledEventId));
      if (activity) out.push({ ...activity, worker: attrs.identity ?? '' });
    }
  }
  return out;
}

/** The host a host queue (`ouija-git@<host>`) belongs to; undefined for a shared queue. */
export function hostOfQueue(queue: string): string | undefined {
  const at = queue.indexOf('@');
  return at < 0 ? undefined : queue.slice(at + 1);
}

/** Live processes whose environment names a run directory under `dir` (agents of the host with that data dir). */
export function processesWithRunDirUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.split('\0').some((v) => v.startsWith('OUIJA_RUN_DIR=') && v.slice('OUIJA_RUN_DIR='.length).startsWith(dir))) found.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return found;
}
