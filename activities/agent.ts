/**
 * The agent activity (agents queue): runs one pipeline step's agent process in the card's worktree.
 * It heartbeats while the agent shows signs of life (that is also how a cancellation reaches it), records
 * the run in Postgres, commits what the agent left uncommitted, and demands positive evidence: a step that
 * changed nothing has failed.
 */
import path from 'node:path';
import fs from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { AgentEventWriter, finishAgentRun, startAgentRun, type Database } from '../src/db';
import { log as defaultLog, type Logger } from '../src/log';
import { agentRunDuration } from '../src/metrics';
import {
  AgentCancelledError,
  AgentExitError,
  AgentHungError,
  runAgent,
  SandboxError,
  type AgentAdapter,
  type AgentEvent,
  type AgentTask,
  type SandboxMode,
} from '../src/plugins/agent';
import type { Workspaces } from '../src/plugins/git';
import { activityLogger } from './logger';
import type { AgentActivities } from './types';

export interface AgentActivityDeps {
  db: Kysely<Database>;
  workspaces: Workspaces;
  /** The agent that runs a step of a card on a board (from configuration). */
  agentFor(boardId: string, step: string): ResolvedAgent;
  /** Per-card run directories (task files, pid fence) live here, outside every worktree. */
  runsRoot: string;
  /** Base logger (default: Ouija's); each run logs through a child carrying its card and activity context. */
  log?: Logger;
  /**
   * Directories no agent may see (Ouija's data directory: secrets, database files, other cards' worktrees
   * and runs). A sandboxed agent finds them empty, except for the paths its own run needs.
   */
  privateDirs?: string[];
}

export interface ResolvedAgent {
  adapter: AgentAdapter;
  silenceTimeoutMs: number;
  passEnv: string[];
  env: Record<string, string>;
  /** OS sandbox for the agent process (default none; see src/plugins/agent/sandbox.ts). */
  sandbox?: SandboxMode;
}

const HEARTBEAT_EVERY_MS = 1_000;

/** Heartbeat details of an agent attempt: what `ouija status` shows, and what a retried attempt resumes from. */
export interface AgentHeartbeat {
  /** HEAD when the step's first attempt began (positive evidence is judged against it). */
  startHead: string;
  lines: number;
  last: string;
  turn: number;
  tool: string | null;
  sessionId: string | null;
}

export function createAgentActivities(deps: AgentActivityDeps): AgentActivities {
  return {
    async runAgent(effect) {
      const ctx = Context.current();
      const log = activityLogger(deps.log ?? defaultLog);
      const { card, step, stepIndex, round, feedback } = effect;
      const agent = deps.agentFor(card.ref.boardId, step);
      // On a fresh machine (or after cleanup) the worktree is rebuilt from the pushed branch.
      const workspace = fs.existsSync(effect.workspace.path)
        ? effect.workspace
        : await deps.workspaces.prepare({ cardKey: card.key, repo: card.repo, branch: effect.workspace.branch, baseBranch: card.baseBranch });
      const cardDir = path.join(deps.runsRoot, card.key.replace(/[^A-Za-z0-9_.-]/g, '_'));
      const runDir = path.join(cardDir, `${effect.effectId.replace(/[^A-Za-z0-9_.-]/g, '_')}-attempt-${ctx.info.attempt}`);
      const task: AgentTask = { cardKey: card.key, title: card.title, body: card.body, step, stepIndex, round, feedback, branch: workspace.branch, worktree: workspace.path };
      // Positive evidence is judged against HEAD when the step's *first* attempt began (kept in the heartbeat
      // details), so a retry after a crash still counts the commits the dead attempt made.
      // What the step's earlier attempt (if it died) last reported: where HEAD started, and the CLI session.
      const carried = ctx.info.heartbeatDetails as Partial<AgentHeartbeat> | undefined;
      const startHead = carried?.startHead ?? (await deps.workspaces.inspect({ path: workspace.path, baseSha: workspace.baseSha })).headSha;

      const runId = await startAgentRun(deps.db, {
        cardKey: card.key,
        workflowId: ctx.info.workflowExecution?.workflowId ?? '',
        runId: ctx.info.workflowExecution?.runId ?? '',
        effectId: effect.effectId,
        step,
        attempt: ctx.info.attempt,
        agent: agent.adapter.name,
      });
      log.info({ step, round, agentRunId: runId, runDir }, 'agent run started');
      const progress: AgentHeartbeat = { startHead, lines: 0, last: '', turn: 0, tool: null, sessionId: carried?.sessionId ?? null };
      const ticker = setInterval(() => ctx.heartbeat({ ...progress }), HEARTBEAT_EVERY_MS);
      // Live progress for operators (`ouija logs`, the SSE endpoint), written in batches.
      const events = new AgentEventWriter(deps.db, runId, { log });
      // The last result the agent printed: a failed run may still have reported what it cost.
      let lastResult: Extract<AgentEvent, { type: 'result' }> | undefined;
      const onEvent = (e: AgentEvent) => {
        progress.lines++;
        if (e.type === 'progress') {
          progress.last = e.message.slice(0, 200);
          if (e.tool) progress.tool = e.tool;
          if (e.turn) progress.turn = e.turn;
          events.add({ type: 'progress', message: e.message, tool: e.tool ?? null, turn: e.turn ?? null });
        }
        if (e.type === 'session') {
          progress.sessionId = e.sessionId;
          events.add({ type: 'session', message: e.sessionId });
        }
        if (e.type === 'result') {
          lastResult = e;
          if (e.sessionId) progress.sessionId = e.sessionId;
          events.add({ type: 'result', message: e.summary });
        }
      };
      const onStderr = (line: string) => events.add({ type: 'stderr', message: line });
      const observeDuration = agentRunDuration.startTimer({ agent: agent.adapter.name, step });
      try {
        const outcome = await runAgent({
          adapter: agent.adapter,
          task,
          runDir,
          pidFile: path.join(cardDir, 'agent.pid'),
          stateDir: path.join(cardDir, 'state'),
          // A retry after a crash continues the dead attempt's session where the CLI can.
          ...(carried?.sessionId ? { resumeSessionId: carried.sessionId } : {}),
          signal: ctx.cancellationSignal,
          silenceTimeoutMs: agent.silenceTimeoutMs,
          passEnv: agent.passEnv,
          env: agent.env,
          sandbox: { mode: agent.sandbox ?? 'none', hidden: deps.privateDirs ?? [] },
          onEvent,
          onStderr,
        });
        await events.close();
        await deps.workspaces.commitAll({ path: workspace.path, message: `${step}: ${card.title.slice(0, 72)}\n\nCard: ${card.key}` });
        const after = await deps.workspaces.inspect({ path: workspace.path, baseSha: workspace.baseSha });
        if (after.headSha === startHead) {
          throw ApplicationFailure.retryable(`agent step ${step} ended without changing anything`, 'NoChangeError');
        }
        await finishAgentRun(deps.db, runId, {
          exitCode: outcome.exitCode,
          outcome: 'succeeded',
          summary: outcome.summary,
          tokensIn: outcome.tokens?.input ?? null,
          tokensOut: outcome.tokens?.output ?? null,
          costUsd: outcome.costUsd ?? null,
        });
        const seconds = observeDuration({ outcome: 'succeeded' });
        log.info({ step, outcome: 'succeeded', seconds, commits: after.commits, headSha: after.headSha }, 'agent run finished');
        return { kind: 'agent', summary: outcome.summary, commits: after.commits, headSha: after.headSha, filesChanged: after.filesChanged };
      } catch (err) {
        const cancelled = err instanceof AgentCancelledError || ctx.cancellationSignal.aborted;
        const ended = cancelled ? 'cancelled' : err instanceof AgentHungError ? 'hung' : 'failed';
        const seconds = observeDuration({ outcome: ended });
        log.warn({ step, outcome: ended, seconds, err }, 'agent run did not succeed');
        await events.close();
        await finishAgentRun(deps.db, runId, {
          exitCode: err instanceof AgentExitError ? err.exitCode : null,
          outcome: ended,
          summary: (err as Error).message.slice(0, 2000),
          // Tokens spent before the failure were paid for all the same.
          tokensIn: lastResult?.tokens?.input ?? null,
          tokensOut: lastResult?.tokens?.output ?? null,
          costUsd: lastResult?.costUsd ?? null,
        }).catch(() => undefined);
        // Reported as a cancellation (not a failure) only once the process group is gone.
        if (cancelled) throw new CancelledFailure(`agent for ${card.key} cancelled; its process group was killed`);
        // A misconfigured sandbox (bwrap missing, a tampered worktree link) fails the same way on every attempt.
        if (err instanceof SandboxError) throw ApplicationFailure.nonRetryable(err.message, 'SandboxError');
        throw err;
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
