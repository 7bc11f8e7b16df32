/** `ouija status <card> [--json]`: the card's live state (workflow query) and its pending activity, attempt and heartbeat. */
import type { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { cardKeyFromArg, workflowIdForCard } from '../core/cards';
import { stateQuery } from '../../workflows/messages';
import { withTemporalClient } from './temporal-client';

export function registerStatusCommand(program: Command): void {
  program
    .command('status <card>')
    .description('live state of a card: phase, step, pending activity, attempt, last heartbeat')
    .option('--json', 'one JSON object')
    .action((card: string, opts: { json?: boolean }) =>
      withTemporalClient(async (client) => {
        const handle = client.workflow.getHandle(workflowIdForCard(cardKeyFromArg(card)));
        const [state, description] = await Promise.all([handle.query(stateQuery), handle.describe()]);
        const pending = (description.raw.pendingActivities ?? []).map((a) => ({
          activityId: a.activityId ?? '',
          type: a.activityType?.name ?? '',
          state: String(a.state ?? ''),
          attempt: a.attempt ?? 0,
          lastHeartbeat: a.lastHeartbeatTime?.seconds ? new Date(Number(a.lastHeartbeatTime.seconds) * 1000).toISOString() : null,
          heartbeat: a.heartbeatDetails?.payloads?.[0] ? defaultPayloadConverter.fromPayload(a.heartbeatDetails.payloads[0]) : null,
          lastFailure: a.lastFailure?.message ?? null,
        }));
        const status = { card: state.card.key, workflowId: description.workflowId, runId: description.runId, status: description.status.name, state, pending };
        if (opts.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        const step = state.pipeline[state.stepIndex] ?? '-';
        const lines = [
          `${state.card.key}  ${state.card.title}`,
          `  workflow   ${description.workflowId} (${description.status.name}, run ${description.runId})`,
          `  phase      ${state.phase}  run ${state.run}  round ${state.round}  step ${step} (${state.stepIndex + 1}/${state.pipeline.length})`,
          `  branch     ${state.workspace?.branch ?? '-'}`,
          `  review     ${state.review?.url ?? '-'}`,
          ...(state.lastError ? [`  last error ${state.lastError}`] : []),
          ...pending.map((p) => `  pending    ${p.type} ${p.activityId} attempt ${p.attempt}, last heartbeat ${p.lastHeartbeat ?? 'never'} ${p.heartbeat ? JSON.stringify(p.heartbeat) : ''}`.trimEnd()),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
