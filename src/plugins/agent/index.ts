/** The agent plugin: Ouija's agent protocol, adapters, and supervised agent processes. */
export type { AgentAdapter, AgentInvocation } from './adapter';
export { commandAdapter, type CommandAdapterConfig } from './command-adapter';
export { demoAgentAdapter, demoAgentCommand, demoAgentScript } from './demo';
export { agentEnvironment, AgentEnvironmentError, type AgentEnvironmentOptions } from './environment';
export { AgentCancelledError, AgentExitError, AgentHungError } from './errors';
export { ProcessGroupStuckError } from './process-group';
export {
  killAllAgentProcessGroups,
  runAgentProcess,
  type AgentProcessOptions,
  type AgentProcessResult,
  type AgentStream,
} from './process';
export { parseAgentLine, type AgentEvent, type AgentTask, type AgentTokens } from './protocol';
export { runAgent, type AgentOutcome, type RunAgentOptions } from './run-agent';
export { describeSandboxes, SandboxError, sandboxModeOf, sandboxStatus, type SandboxMode, type SandboxSettings, type SandboxStatus } from './sandbox';
export {
  openWarmSession,
  sessionTaskOfEffect,
  warmSessionFor,
  warmSessionForEffect,
  WarmSessionError,
  type WarmSession,
  type WarmSessionHandle,
  type WarmSessionSettings,
} from './session';
