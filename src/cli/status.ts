/**
 * `ouija status <card> [--json]`: the card's live state (workflow query) and its pending activity, attempt and
 * heartbeat, from Temporal; plus what its agents cost so far, from Ouija's HTTP API (OUIJA_URL) when it answers.
 */
import type { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { cardKeyFromArg, workflowIdForCard } from '../core/cards';
import type { CardTotals } from '../db/card-usage';
import { stateQuery } from '../../workflows/messages';
import { withTemporalClient } from './temporal-client';

export function registerStatusCommand(program: Command): void {
  program
    .command('status <card>')
    .description('live state of a card: phase, step, pending activity, attempt, last heartbeat')
    .option('--json', 'one JSON object')
    .action((card: string, opts: { json?: boolean }) =>
      withTemporalClient(async (client, config) => {
        const cardKey = cardKeyFromArg(card);
        const handle = client.workflow.getHandle(workflowIdForCard(cardKey));
        const [state, description, usage] = await Promise.all([
          handle.query(stateQuery),
          handle.describe(),
          cardUsage(process.env.OUIJA_URL ?? `http://127.0.0.1:${config.port}`, cardKey),
        ]);
        const pending = (description.raw.pendingActivities ?? []).map((a) => ({
          activityId: a.activityId ?? '',
          type: a.activityType?.name ?? '',
          state: String(a.state ?? ''),
          attempt: a.attempt ?? 0,
          lastHeartbeat: a.lastHeartbeatTime?.seconds ? new Date(Number(a.lastHeartbeatTime.seconds) * 1000).toISOString() : null,
          heartbeat: a.heartbeatDetails?.payloads?.[0] ? defaultPayloadConverter.fromPayload(a.heartbeatDetails.payloads[0]) : null,
          lastFailure: a.lastFailure?.message ?? null,
        }));
        const status = { card: state.card.key, workflowId: description.workflowId, runId: description.runId, status: description.status.name, state, pending, usage };
        if (opts.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        const step = state.pipeline[state.stepIndex] ?? '-';
        const lines = [
          `${state.card.key}  ${state.card.title}`,
          `  workflow   ${description.workflowId} (${description.status.name}, run ${description.runId})`,
          `  phase      ${state.phase}  run ${state.run}  round ${state.round}  step ${step} (${state.stepIndex + 1}/${state.pipeline.length})`,
          `  branch     ${state.workspace?.branch ?? '-'}`,
          `  review     ${state.review?.url ?? '-'}`,
          ...(state.lastError ? [`  last error ${state.lastError}`] : []),
          ...(usage ? [`  usage      ${usage.runs} agent runs, ${usage.tokensIn} tokens in, ${usage.tokensOut} out, $${usage.costUsd.toFixed(4)}${usage.runsWithoutCost ? ` (+${usage.runsWithoutCost} runs without a reported cost)` : ''}`] : []),
          ...pending.map((p) => `  pending    ${p.type} ${p.activityId} attempt ${p.attempt}, last heartbeat ${p.lastHeartbeat ?? 'never'} ${p.heartbeat ? JSON.stringify(p.heartbeat) : ''}`.trimEnd()),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}

/** Token and cost totals from the HTTP API; null when it does not answer (status still works without it). */
async function cardUsage(base: string, cardKey: string): Promise<CardTotals | null> {
  const token = process.env.OUIJA_API_TOKEN;
  try {
    const res = await fetch(`${base}/api/cards/${encodeURIComponent(cardKey)}/usage`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(3000),
    });
    return res.ok ? ((await res.json()) as { usage: CardTotals }).usage : null;
  } catch {
    return null;
  }
}
