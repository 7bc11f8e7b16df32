/**
 * The limiter activities (workflows queue). Card workflows ask a pool's limiter for slots and give them back through
 * `signalLimiter`, a local activity that signals the limiter workflow, starting it if it is not running (a limiter
 * ends when nothing is held or waiting). Limiters sweep their holders with `staleSlotHolders`, so a card workflow
 * that was terminated while holding a slot cannot keep it forever.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { limiterWorkflow } from '../workflows/limiter';
import { TASK_QUEUES, acquireSignal, limiterWorkflowId, releaseSignal, type LimiterInput, type SlotRequest } from '../workflows/messages';
import type { LimiterActivities } from './types';

const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

export function createLimiterActivities(client: Client, options: { sweepEveryMs?: number } = {}): LimiterActivities {
  return {
    async signalLimiter(signal) {
      const input: LimiterInput = { limiter: signal.limiter, ...(options.sweepEveryMs !== undefined ? { sweepEveryMs: options.sweepEveryMs } : {}) };
      const base = { workflowId: limiterWorkflowId(signal.limiter), taskQueue: TASK_QUEUES.workflows, args: [input] as [LimiterInput] };
      const summary = `slots of ${signal.limiter}`;
      if ('acquire' in signal) {
        await client.workflow.signalWithStart<typeof limiterWorkflow, [SlotRequest]>('limiterWorkflow', { ...base, signal: acquireSignal, signalArgs: [signal.acquire], staticSummary: summary });
      } else {
        await client.workflow.signalWithStart<typeof limiterWorkflow, [{ workflowId: string; token: string }]>('limiterWorkflow', {
          ...base,
          signal: releaseSignal,
          signalArgs: [signal.release],
          staticSummary: summary,
        });
      }
    },

    async staleSlotHolders(holders) {
      const stale: string[] = [];
      for (const holder of new Map(holders.map((h) => [h.workflowId, h])).values()) {
        try {
          const { raw } = await client.workflow.getHandle(holder.workflowId).describe();
          const info = raw.workflowExecutionInfo;
          if (info?.status !== RUNNING || (info.firstRunId && info.firstRunId !== holder.firstRunId)) stale.push(holder.workflowId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) stale.push(holder.workflowId);
          else throw err;
        }
      }
      return stale;
    },
  };
}
