/**
 * Ouija's agent protocol (docs/AGENT-PROTOCOL.md): the task goes in as a JSON file named by
 * `OUIJA_TASK_FILE`, events come out on stdout as NDJSON. The reader is lenient on purpose: an agent's
 * stdout also carries whatever its tools print, so a line that is not a protocol event is progress text,
 * never an error.
 */
import { z } from 'zod';
import type { ReviewComment } from '../../core/types';

/** What the agent is asked to do. Written to the task file; the agent's cwd is `worktree`. */
export interface AgentTask {
  cardKey: string;
  title: string;
  body: string;
  /** Pipeline step name, e.g. `implement`. */
  step: string;
  stepIndex: number;
  /** Review round: 0 for the first pass, +1 per changes-requested. */
  round: number;
  /** Review comments this revision must address (empty on the first pass). */
  feedback: ReviewComment[];
  branch: string;
  worktree: string;
}

export interface AgentTokens {
  input: number;
  output: number;
}

export type AgentEvent =
  /** `tool`: the tool the agent is using, when the CLI says; `turn`: its model turn, counted from 1. */
  | { type: 'progress'; message: string; tool?: string; turn?: number }
  | { type: 'heartbeat' }
  /** The CLI's session, as soon as it is known (saved in heartbeat details so a retry can resume it). */
  | { type: 'session'; sessionId: string }
  /** `isError`: the CLI says the run failed even if it exits 0 (Claude Code does, on provider errors). */
  | { type: 'result'; summary: string; tokens?: AgentTokens; costUsd?: number; sessionId?: string; isError?: boolean };

const count = z.number().int().nonnegative();

// Optional metadata that is malformed is dropped rather than costing us the result line it rides on.
const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), message: z.string() }),
  z.object({ type: z.literal('heartbeat') }),
  z.object({
    type: z.literal('result'),
    summary: z.string(),
    tokens: z.object({ input: count, output: count }).optional().catch(undefined),
    costUsd: z.number().nonnegative().optional().catch(undefined),
    sessionId: z.string().optional().catch(undefined),
  }),
]);

/**
 * One stdout line → one event. Never throws: blank lines are heartbeats (a sign of life with nothing to
 * say), and anything that is not a well-formed protocol event is progress text carrying the raw line.
 */
export function parseAgentLine(line: string): AgentEvent {
  const text = line.trim();
  if (text === '') return { type: 'heartbeat' };
  if (!text.startsWith('{')) return { type: 'progress', message: line };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { type: 'progress', message: line };
  }
  const parsed = eventSchema.safeParse(json);
  if (!parsed.success) return { type: 'progress', message: line };
  const event = parsed.data;
  if (event.type !== 'result') return event;
  // Rebuild so absent or dropped metadata leaves no `key: undefined` behind.
  const result: AgentEvent = { type: 'result', summary: event.summary };
  if (event.tokens) result.tokens = event.tokens;
  if (event.costUsd !== undefined) result.costUsd = event.costUsd;
  if (event.sessionId !== undefined) result.sessionId = event.sessionId;
  return result;
}
