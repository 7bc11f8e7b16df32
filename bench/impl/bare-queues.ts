/** Names shared by the bare-Temporal workflow and its worker (no I/O: the workflow bundle imports this). */
export const BARE_NAMESPACE = 'bench-bare';
/** Workflow, prepareWorkspace and publish. */
export const BARE_QUEUE = 'bench-bare';
/** Agents on their own queue only so their concurrency can be capped like Ouija's agent worker. */
export const BARE_AGENT_QUEUE = 'bench-bare-agents';

export interface BarePipelineInput {
  card: string;
  steps: string[];
  sleepsMs: number[];
  parallel: boolean;
}
