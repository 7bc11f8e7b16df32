/**
 * How an agent run can end badly. The activity layer maps these onto retry policy: a hung agent is retried
 * (its process group is already dead), a cancelled one is not, an exit code is the agent's own verdict.
 */

/** No output for `silenceTimeoutMs`: the agent hung (or was stopped). Its process group has been killed. */
export class AgentHungError extends Error {
  override name = 'AgentHungError';
  constructor(readonly silenceTimeoutMs: number) {
    super(`agent printed nothing for ${silenceTimeoutMs} ms and was killed`);
  }
}

/** The run was aborted (card left the working column, worker shutting down). Its process group is gone. */
export class AgentCancelledError extends Error {
  override name = 'AgentCancelledError';
  constructor() {
    super('agent run was cancelled and its processes were stopped');
  }
}

/** The agent exited unsuccessfully: a non-zero code, or killed by a signal nobody in Ouija sent. */
export class AgentExitError extends Error {
  override name = 'AgentExitError';
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
  ) {
    const how = exitCode !== null ? `with code ${exitCode}` : `on signal ${signal ?? 'unknown'}`;
    super(`agent exited ${how}${stderrTail ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
}
