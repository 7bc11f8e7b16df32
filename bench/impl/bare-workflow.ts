/**
 * The engine's floor: the smallest workflow that runs the card pipeline's activities in Ouija's order
 * (prepare workspace → agent step(s), in sequence or as one parallel group → publish). No state machine,
 * no signals, no board effects.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BareActivities } from './bare-activities';
import { BARE_AGENT_QUEUE, type BarePipelineInput } from './bare-queues';

const { prepareWorkspace, publish } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });
const { runAgent } = proxyActivities<BareActivities>({ taskQueue: BARE_AGENT_QUEUE, startToCloseTimeout: '10 minutes' });

export async function barePipeline(input: BarePipelineInput): Promise<void> {
  await prepareWorkspace(input.card);
  const step = (i: number) => runAgent(input.card, input.steps[i]!, input.sleepsMs[i] ?? 0);
  if (input.parallel) {
    await Promise.all(input.steps.map((_, i) => step(i)));
  } else {
    for (let i = 0; i < input.steps.length; i++) await step(i);
  }
  await publish(input.card);
}
