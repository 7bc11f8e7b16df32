/** A task as the agent activity hands it to an adapter: the first round of card 1 ("Add a greeting"), unless overridden. */
import type { AgentTask } from '../../src/plugins/agent/protocol';

export function agentTask(overrides: Partial<AgentTask> = {}): AgentTask {
  return {
    cardKey: 'builtin:b1:1',
    title: 'Add a greeting',
    body: 'Say hello to the team.',
    step: 'implement',
    stepIndex: 0,
    round: 0,
    feedback: [],
    branch: 'ouija/1-add-a-greeting',
    worktree: '/work/tree',
    ...overrides,
  };
}
