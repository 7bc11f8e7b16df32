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
import { AgentEventWriter, finishAgentRun, lastCleanExit, recordAgentExit, startAgentRun, type Database } from '../src/db';
import { log as defaultLog, type Logger } from '../src/log';
import { agentRunDuration } from '../src/metrics';
import {
  AgentCancelledError,
  AgentExitError,
  AgentHungError,
  openWarmSession,
  runAgent,
  SandboxError,
  sandboxModeOf,
  warmSessionForEffect,
  WarmSessionError,
  type AgentAdapter,
  type AgentEvent,
  type AgentTask,
  type SandboxMode,
  type WarmSessionHandle,
  type WarmSessionSettings,
} from '../src/plugins/agent';
import type { Workspace } from '../src/core/types';
import type { Workspaces } from '../src/plugins/git';
import { untilDatabaseAnswers } from './database-wait';
import { failuresSoFar, withFailureBudget, type FailureCount } from './failure-budget';
import { HEARTBEAT_EVERY_MS, heartbeatDuring } from './heartbeat';
import { activityLogger } from './logger';
import { phaseClock } from './phase-clock';
import type { AgentActivities, EffectOf, ResultOf } from './types';

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
  /** OS sandbox for the agent process (default bwrap: only `none` turns it off; see src/plugins/agent/sandbox.ts). */
  sandbox?: SandboxMode;
  /** Warm sessions (profile `session`): one CLI session per card, rotated after `maxTasks` tasks. Default cold. */
  session?: { warm: boolean } & WarmSessionSettings;
}


/** Heartbeat details of an agent attempt: what `ouija status` shows, and what a retried attempt resumes from. */
export interface AgentHeartbeat extends FailureCount {
  /** HEAD when the step's first attempt began (positive evidence is judged against it). */
  startHead: string;
  lines: number;
  last: string;
  turn: number;
  tool: string | null;
  sessionId: string | null;
}

/** The card's warm session for this effect, opened on disk; none when the profile runs cold. */
function warmSessionOf(agent: ResolvedAgent, cardDir: string, cardKey: string, effectId: string): WarmSessionHandle | undefined {
  if (!agent.session?.warm || !agent.adapter.supportsWarmSession) return undefined;
  try {
    return openWarmSession({ root: cardDir, adapter: agent.adapter.name, session: warmSessionForEffect(cardKey, effectId, agent.session) });
  } catch (err) {
    // A session directory owned by someone else is never handed over; retrying would not change that.
    if (err instanceof WarmSessionError) throw ApplicationFailure.nonRetryable(err.message, 'WarmSessionError');
    throw err;
  }
}

/** A card key, effect ID or step name as one file name component. */
function fileSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * HEAD when the step's first attempt began, kept in a file beside the attempts' run dirs as well as in the
 * heartbeat details: heartbeats are throttled, so a worker killed within a second of the start may never have
 * sent it, and a retry that took the dead attempt's commit as its start would see "no change" (scenario 7).
 */
function startHeadOf(file: string): string | undefined {
  try {
    const sha = fs.readFileSync(file, 'utf8').trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

function keepStartHead(file: string, sha: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writeSync(fd, `${sha}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * The result of an earlier attempt of this step whose agent process already finished, so that a retry after a
 * worker crash does not run the agent again (reliability scenario 7):
 * - recorded as succeeded: reported as it was, if the worktree is still where that run left it (a worktree
 *   rebuilt on another machine lacks its unpushed commit: then the agent runs again);
 * - exited 0 but never judged (the worker died in between): judged now, as that attempt would have, against the
 *   step's start HEAD; a run that changed nothing is left to the normal path (the agent runs again).
 */
async function earlierFinish(
  deps: AgentActivityDeps,
  ctx: Context,
  effect: EffectOf<'runAgent'>,
  workspace: Workspace,
  startHead: string,
  details: () => AgentHeartbeat,
): Promise<{ runId: number; result: ResultOf<'agent'> } | undefined> {
  if (ctx.info.attempt === 1) return undefined;
  const execution = ctx.info.workflowExecution;
  const log = activityLogger(deps.log ?? defaultLog);
  const waiting = { log, heartbeat: details };
  const run = await heartbeatDuring(ctx, details, untilDatabaseAnswers('agent run lookup', () => lastCleanExit(deps.db, {
    workflowId: execution?.workflowId ?? '',
    runId: execution?.runId ?? '',
    effectId: effect.effectId,
  }), waiting));
  if (!run) return undefined;
  if (run.outcome === 'succeeded' && (!run.headSha || (await heartbeatDuring(ctx, details, deps.workspaces.head({ path: workspace.path }))) !== run.headSha)) return undefined;
  const after = await heartbeatDuring(ctx, details, deps.workspaces.commitAndInspect({ path: workspace.path, message: commitMessage(effect), baseSha: workspace.baseSha }));
  if (run.outcome === 'succeeded' ? after.headSha !== run.headSha : after.headSha === startHead) return undefined;
  if (run.outcome === null) {
    await heartbeatDuring(ctx, details, untilDatabaseAnswers('agent run finish', () => finishAgentRun(deps.db, run.id, {
      exitCode: 0,
      outcome: 'succeeded',
      summary: run.summary,
      tokensIn: run.tokensIn,
      tokensOut: run.tokensOut,
      costUsd: run.costUsd,
      headSha: after.headSha,
    }), waiting));
  }
  return { runId: run.id, result: { kind: 'agent', summary: run.summary ?? '', commits: after.commits, headSha: after.headSha, filesChanged: after.filesChanged } };
}

/** The commit that takes what the agent left uncommitted. */
function commitMessage({ step, card }: EffectOf<'runAgent'>): string {
  return `${step}: ${card.title.slice(0, 72)}\n\nCard: ${card.key}`;
}

export function createAgentActivities(deps: AgentActivityDeps): AgentActivities {
  return {
    async runAgent(effect, policy) {
      const ctx = Context.current();
      // Heartbeat from the start: the setup below (git, Postgres) can outlast a short heartbeat timeout on a busy
      // machine, which retried healthy agents (reliability scenario 5). What a dead attempt left is passed on.
      const carried = ctx.info.heartbeatDetails as Partial<AgentHeartbeat> | undefined;
      ctx.heartbeat(carried);
      const attempt: AttemptDetails = { latest: { ...carried } };
      return withFailureBudget(ctx, policy, () => attempt.latest, () => runStep(deps, ctx, effect, attempt));
    },
  };
}

/** What an attempt last heartbeated: a failure hands it on (with its count) to the next attempt. */
interface AttemptDetails {
  latest: Partial<AgentHeartbeat>;
}

/** One attempt of a step's agent. */
async function runStep(deps: AgentActivityDeps, ctx: Context, effect: EffectOf<'runAgent'>, attempt: AttemptDetails): Promise<ResultOf<'agent'>> {
  const lap = phaseClock();
  const log = activityLogger(deps.log ?? defaultLog);
  const { card, step, stepIndex, round, feedback } = effect;
  const agent = deps.agentFor(card.ref.boardId, step);
  // On a fresh machine (or after cleanup) the worktree is rebuilt from the pushed branch. A parallel step's
  // worktree has nothing pushed to rebuild from: its group must start again (the run fails, a retry does that).
  if (effect.workspace.member !== undefined && !fs.existsSync(effect.workspace.path)) {
    throw ApplicationFailure.create({ message: `the worktree of parallel step ${step} is gone (${effect.workspace.path})`, nonRetryable: true });
  }
  const workspace = fs.existsSync(effect.workspace.path)
    ? effect.workspace
    : await heartbeatDuring(ctx, () => ctx.info.heartbeatDetails, deps.workspaces.prepare({ cardKey: card.key, repo: card.repo, branch: effect.workspace.branch, baseBranch: card.baseBranch }));
  const cardDir = path.join(deps.runsRoot, fileSafe(card.key));
  const runDir = path.join(cardDir, `${fileSafe(effect.effectId)}-attempt-${ctx.info.attempt}`);
  // A warm session is keyed by this card (and run, step, round): never another card's (see session.ts).
  const session = warmSessionOf(agent, cardDir, card.key, effect.effectId);
  const task: AgentTask = { cardKey: card.key, title: card.title, body: card.body, step, stepIndex, round, feedback, branch: workspace.branch, worktree: workspace.path };
  // Positive evidence is judged against HEAD when the step's *first* attempt began (kept in the heartbeat
  // details), so a retry after a crash still counts the commits the dead attempt made.
  // What the step's earlier attempt (if it died) last reported: where HEAD started, and the CLI session.
  const carried = ctx.info.heartbeatDetails as Partial<AgentHeartbeat> | undefined;
  const startHeadFile = path.join(cardDir, `${fileSafe(ctx.info.workflowExecution?.runId ?? 'run')}-${fileSafe(effect.effectId)}.start-head`);
  const startHead =
    carried?.startHead ??
    startHeadOf(startHeadFile) ??
    (await heartbeatDuring(ctx, () => carried, deps.workspaces.head({ path: workspace.path })));
  keepStartHead(startHeadFile, startHead);
  lap('start_head');

  // Every heartbeat carries the count of this step's real failures so far (failure-budget.ts).
  const failures = failuresSoFar(ctx);
  const startDetails = (): AgentHeartbeat => ({ startHead, lines: 0, last: '', turn: 0, tool: null, sessionId: carried?.sessionId ?? null, failures });
  attempt.latest = startDetails();
  // The worker of an earlier attempt may have died after its agent succeeded, before Temporal heard: that run
  // is reported, not repeated (reliability scenario 7).
  const earlier = await earlierFinish(deps, ctx, effect, workspace, startHead, startDetails);
  if (earlier) {
    log.info({ step, agentRunId: earlier.runId, headSha: earlier.result.headSha }, 'the agent finished in an earlier attempt; reporting that run');
    return earlier.result;
  }
  // A Postgres outage is waited out (heartbeating what a retry needs), not charged to the agent's attempts.
  const runId = await heartbeatDuring(ctx, startDetails, untilDatabaseAnswers('agent run start', () => startAgentRun(deps.db, {
    cardKey: card.key,
    workflowId: ctx.info.workflowExecution?.workflowId ?? '',
    runId: ctx.info.workflowExecution?.runId ?? '',
    effectId: effect.effectId,
    step,
    attempt: ctx.info.attempt,
    agent: agent.adapter.name,
  }), { log, heartbeat: startDetails }));
  log.info(
    { step, round, agentRunId: runId, runDir, ...(session ? { session: { key: session.key, id: session.id, taskInSession: session.taskInSession } } : {}) },
    'agent run started',
  );
  lap('run_row_insert');
  const progress: AgentHeartbeat = startDetails();
  attempt.latest = progress;
  const ticker = setInterval(() => ctx.heartbeat({ ...progress }), HEARTBEAT_EVERY_MS);
  ctx.heartbeat({ ...progress });
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
      // One fence per card; a parallel group's steps run side by side, so each of them has its own.
      pidFile: path.join(cardDir, workspace.member === undefined ? 'agent.pid' : `agent-${fileSafe(step)}.pid`),
      stateDir: path.join(cardDir, 'state'),
      // A retry after a crash continues the dead attempt's session where the CLI can.
      ...(carried?.sessionId ? { resumeSessionId: carried.sessionId } : {}),
      ...(session ? { session } : {}),
      signal: ctx.cancellationSignal,
      silenceTimeoutMs: agent.silenceTimeoutMs,
      passEnv: agent.passEnv,
      env: agent.env,
      sandbox: { mode: sandboxModeOf(agent.sandbox), hidden: deps.privateDirs ?? [] },
      onEvent,
      onStderr,
    });
    lap('agent');
    // Durable before the work is judged: a worker that dies from here on leaves a run its retry can finish.
    const exit = {
      exitCode: outcome.exitCode,
      summary: outcome.summary,
      tokensIn: outcome.tokens?.input ?? null,
      tokensOut: outcome.tokens?.output ?? null,
      costUsd: outcome.costUsd ?? null,
    };
    await untilDatabaseAnswers('agent exit', () => recordAgentExit(deps.db, runId, exit), { log, heartbeat: () => ({ ...progress }) });
    await events.close();
    lap('event_flush');
    const after = await deps.workspaces.commitAndInspect({ path: workspace.path, message: commitMessage(effect), baseSha: workspace.baseSha });
    lap('commit_and_inspect');
    if (after.headSha === startHead) {
      throw ApplicationFailure.retryable(`agent step ${step} ended without changing anything`, 'NoChangeError');
    }
    // Failing here would run the (successful) agent again: wait for Postgres instead.
    await untilDatabaseAnswers('agent run finish', () => finishAgentRun(deps.db, runId, { ...exit, outcome: 'succeeded', headSha: after.headSha }), {
      log,
      heartbeat: () => ({ ...progress }),
    });
    lap('run_row_finish');
    const seconds = observeDuration({ outcome: 'succeeded' });
    log.info({ step, outcome: 'succeeded', seconds, commits: after.commits, headSha: after.headSha }, 'agent run finished');
    return { kind: 'agent', summary: outcome.summary, commits: after.commits, headSha: after.headSha, filesChanged: after.filesChanged };
  } catch (err) {
    const cancelled = err instanceof AgentCancelledError || ctx.cancellationSignal.aborted;
    const ended = cancelled ? 'cancelled' : err instanceof AgentHungError ? 'hung' : 'failed';
    const seconds = observeDuration({ outcome: ended });
    log.warn({ step, outcome: ended, seconds, err }, 'agent run did not succeed');
    await events.close();
    await untilDatabaseAnswers('agent run finish', () => finishAgentRun(deps.db, runId, {
      exitCode: err instanceof AgentExitError ? err.exitCode : null,
      outcome: ended,
      summary: (err as Error).message.slice(0, 2000),
      // Tokens spent before the failure were paid for all the same.
      tokensIn: lastResult?.tokens?.input ?? null,
      tokensOut: lastResult?.tokens?.output ?? null,
      costUsd: lastResult?.costUsd ?? null,
    }), { log, heartbeat: () => ({ ...progress }) }).catch(() => undefined);
    // Reported as a cancellation (not a failure) only once the process group is gone.
    if (cancelled) throw new CancelledFailure(`agent for ${card.key} cancelled; its process group was killed`);
    // A misconfigured sandbox (bwrap missing, a tampered worktree link) fails the same way on every attempt.
    if (err instanceof SandboxError) throw ApplicationFailure.nonRetryable(err.message, 'SandboxError');
    throw err;
  } finally {
    clearInterval(ticker);
  }
}
