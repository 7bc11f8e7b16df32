/** Activities of the bare-Temporal pipeline: the agent is the same sleeper process; prepare and publish do nothing. */
import { runSleeper } from '../timeline';

export interface BareActivities {
  prepareWorkspace(card: string): Promise<void>;
  runAgent(card: string, step: string, sleepMs: number): Promise<void>;
  publish(card: string): Promise<void>;
}

export function createBareActivities(timeline: string): BareActivities {
  return {
    async prepareWorkspace() {},
    runAgent: (card, step, sleepMs) => runSleeper(timeline, 'bare-temporal', card, step, sleepMs),
    async publish() {},
  };
}
