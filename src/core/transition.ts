/**
 * The card lifecycle: `transition(state, trigger) -> { state, effects }`. This is the one place where
 * decisions are made; the workflow only executes the effects and feeds their results back as triggers.
 *
 * Pure and total: no I/O, no clock, no randomness, never throws on a well-typed input, never mutates its
 * input. Unchanged parts of the state are shared with the result, so treat states as immutable values.
 * A trigger that does not apply is ignored with the reason in `ignored`; the state then changes only by
 * remembering the trigger's delivery ID (and, for card.moved, by taking the card info it carries).
 *
 * Shape of a run: idle → preparing → working (step 0..n-1) → publishing → review → done, with
 * review → revising (prepare, steps from `reviseFrom`) → publishing → review on changes requested, and
 * the side exits failed and cancelled. A stopped run's last effect may still be in flight in a terminal
 * phase ("stopping"): its result leads to cleanup, and a restart asked for meanwhile waits for that.
 *
 * Cluster-wide limits (states with `limits`): a step's agents start only with a slot of the `agents` pool, and a
 * card publishes only with a slot of its board's `review` pool; waiting for one is the phase `queued`. An agent
 * slot is given back when the step's agents have stopped, the review slot when the run ends.
 *
 * Hosts: a worktree lives on one host, which the workspace records (`Workspace.host`). When that host stops
 * taking the card's tasks (`hostLost`), the run moves: it prepares afresh on any host from what was pushed and
 * runs the round's steps again (or only publishes, if the push it was making had landed).
 */
import { branchNameForCard, fingerprint, isSafeBranchName } from './cards';
import { effectId } from './effect-ids';
import { MAX_REMEMBERED_DELIVERIES, groupOf, holds, isActive, isTerminal, limiterOf, reviseFrom } from './state';
import { MAX_ERROR_LENGTH, clip, describeWork, texts } from './texts';
import type {
  CardState,
  ColumnRole,
  Effect,
  EffectResult,
  ExternalTrigger,
  GroupMember,
  GroupWork,
  InFlight,
  ParallelGroup,
  ResultTrigger,
  ReviewComment,
  ReviewRequest,
  SlotPool,
  SlotTrigger,
  TransitionResult,
  Trigger,
  WorkKind,
  Workspace,
} from './types';

/** Moves to another host one run may make before it fails: a host lost once is bad luck, five times is a pattern. */
export const MAX_MOVES = 5;

export function transition(state: CardState, trigger: Trigger): TransitionResult {
  switch (trigger.type) {
    case 'effect.succeeded':
    case 'effect.failed':
      return onResult(state, trigger);
    case 'slot.granted':
      return onGrant(state, trigger);
    default:
      return onExternal(state, trigger);
  }
}

const applied = (state: CardState, effects: Effect[] = []): TransitionResult => ({ state, effects });
const ignore = (state: CardState, reason: string): TransitionResult => ({ state, effects: [], ignored: reason });

/** `first`'s effects, then those of the transition that follows from it. */
const chain = (first: Effect[], next: TransitionResult): TransitionResult => ({ ...next, effects: [...first, ...next.effects] });

/** This run's effect ID of `kind` (for `step`) in the current round, counting the run's moves. */
const idFor = (s: CardState, kind: WorkKind, step?: string): string => effectId(s.run, kind, s.round, step, s.moves ?? 0);

// ---------------------------------------------------------------------------------------------
// Triggers from outside: boards, forges, operators.

function onExternal(state: CardState, trigger: ExternalTrigger): TransitionResult {
  // Invariant 2: a delivery changes state at most once.
  if (state.deliveries.includes(trigger.deliveryId)) return ignore(state, `duplicate delivery ${trigger.deliveryId}`);
  const s: CardState = { ...state, deliveries: [...state.deliveries, trigger.deliveryId].slice(-MAX_REMEMBERED_DELIVERIES) };

  switch (trigger.type) {
    case 'card.edited':
      // Info only: effects already in flight keep the card they were given.
      return applied({ ...s, card: trigger.card });
    case 'card.moved':
      return onMoved(trigger.card ? { ...s, card: trigger.card } : s, trigger.column);
    case 'card.deleted':
      return onStopRequest(s, 'the card was deleted');
    case 'operator.cancel':
      return onStopRequest(s, 'an operator cancelled it');
    case 'operator.retry':
      return isTerminal(s.phase) ? requestStart(s, 'retry') : ignore(s, `already running (${s.phase})`);
    case 'review.approved':
      return s.phase === 'review' ? finish(s, 'approved') : ignore(s, `approval while ${s.phase}`);
    case 'review.changesRequested':
      return s.phase === 'review' ? revise(s, trigger.comments) : ignore(s, `changes requested while ${s.phase}`);
    case 'pr.merged':
      return onReviewClosed(s, 'merged');
    case 'pr.closed':
      return onReviewClosed(s, 'closed');
  }
}

function onMoved(s: CardState, column: ColumnRole): TransitionResult {
  if (column === 'working') {
    return isTerminal(s.phase) ? requestStart(s, 'moved') : ignore(s, `moved to working while ${s.phase}`);
  }
  if (s.phase === 'review') {
    if (column === 'review') return ignore(s, 'moved to review while in review (our own move)');
    if (column === 'done') return finish(s, 'movedToDone');
  }
  return onStopRequest(s, `the card was moved to the ${column} column`);
}

/** Card deleted, moved out of the working column, or an operator's cancel. */
function onStopRequest(s: CardState, why: string): TransitionResult {
  if (isActive(s.phase) || s.phase === 'review') return cancelRun(s, why);
  // A restart asked for while the last run was stopping is withdrawn too.
  if (s.restartRequested) return applied({ ...s, restartRequested: false });
  return ignore(s, `nothing to stop (${s.phase}): ${why}`);
}

/**
 * pr.merged / pr.closed. The trigger does not name the PR, so before this run has published one it
 * must be about an earlier run's PR (branches are reused) and cannot end this run.
 */
function onReviewClosed(s: CardState, how: 'merged' | 'closed'): TransitionResult {
  if (s.phase !== 'review' && !isActive(s.phase)) return ignore(s, `review request ${how} while ${s.phase}`);
  if (s.review === null) return ignore(s, `review request ${how} before this run published one`);
  return how === 'merged' ? finish(s, 'merged') : cancelRun(s, 'the review request was closed');
}

/** Moved to working or operator.retry in a terminal phase: start now, or once the last run has stopped. */
function requestStart(s: CardState, via: 'moved' | 'retry'): TransitionResult {
  if (s.inFlight === null) return startRun(s, via);
  if (s.restartRequested) return ignore(s, 'restart already requested');
  return applied({ ...s, restartRequested: true });
}

// ---------------------------------------------------------------------------------------------
// Slots of the cluster-wide limits.

/** Waits for a slot of `pool` before the step at `stepIndex` (agents) or publishing (review). */
function queue(s: CardState, pool: SlotPool, stepIndex: number, count: number, max: number): TransitionResult {
  const token = idFor(s, 'slot', pool === 'agents' ? `agents-${s.pipeline[stepIndex] ?? stepIndex}` : 'review');
  const next: CardState = { ...s, phase: 'queued', stepIndex: pool === 'agents' ? stepIndex : s.stepIndex, inFlight: { kind: 'slot', effectId: token, pool, stepIndex } };
  return applied(next, [{ type: 'acquireSlot', pool, limiter: limiterOf(pool, s.card.ref), token, count, max }]);
}

function onGrant(s: CardState, trigger: SlotTrigger): TransitionResult {
  const work = s.inFlight;
  if (work?.kind === 'slot' && work.effectId === trigger.token) {
    const granted: CardState = { ...s, inFlight: null, slots: [...(s.slots ?? []), { pool: work.pool, token: work.effectId }] };
    if (work.pool === 'review') return startPublish(granted);
    return startStep({ ...granted, phase: s.round > 0 ? 'revising' : 'working' }, work.stepIndex);
  }
  if ((s.slots ?? []).some((slot) => slot.token === trigger.token)) return ignore(s, `slot ${trigger.token} is held already`);
  // Nobody waits for it (the wait was withdrawn, or its run ended, before the grant arrived): give it straight back.
  return applied(s, [{ type: 'releaseSlot', pool: trigger.pool, limiter: limiterOf(trigger.pool, s.card.ref), token: trigger.token }]);
}

/** Gives back the held slots `which` selects (default: all), and withdraws a wait for one that is in flight. */
function release(s: CardState, which: (pool: SlotPool) => boolean = () => true): { state: CardState; effects: Effect[] } {
  const giving = (s.slots ?? []).filter((slot) => which(slot.pool));
  const waiting = s.inFlight?.kind === 'slot' && which(s.inFlight.pool) ? [{ pool: s.inFlight.pool, token: s.inFlight.effectId }] : [];
  if (giving.length + waiting.length === 0) return { state: s, effects: [] };
  const kept = (s.slots ?? []).filter((slot) => !which(slot.pool));
  const effects: Effect[] = [...giving, ...waiting].map((slot) => ({ type: 'releaseSlot', pool: slot.pool, limiter: limiterOf(slot.pool, s.card.ref), token: slot.token }));
  const state: CardState = { ...s, slots: kept, ...(waiting.length > 0 ? { inFlight: null } : {}) };
  return { state, effects };
}

const agentsOnly = (pool: SlotPool): boolean => pool === 'agents';

// ---------------------------------------------------------------------------------------------
// Results of lifecycle effects.

function onResult(s: CardState, trigger: ResultTrigger): TransitionResult {
  const work = s.inFlight;
  if (work?.kind === 'group') return onMemberResult(s, work, trigger);
  if (work === null || work.kind === 'slot' || work.effectId !== trigger.effectId) {
    return ignore(s, `stale result for ${trigger.effectId} (in flight: ${work?.effectId ?? 'nothing'})`);
  }
  if (work.kind === 'cleanup') return afterCleanup(s, trigger);
  if (isTerminal(s.phase)) return afterStopped(s, trigger);
  if (!isActive(s.phase)) return ignore(s, `result for ${trigger.effectId} while ${s.phase}`); // review: nothing is in flight

  if (trigger.type === 'effect.failed') {
    // Cancelled without our asking (e.g. the workflow itself was cancelled): the run is over all the same.
    if (trigger.cancelled) {
      const freed = release({ ...s, inFlight: null }, agentsOnly); // the agents (if it was theirs) have stopped
      return chain(freed.effects, cancelRun(freed.state, `${describeWork(s, work)} was cancelled`));
    }
    if (trigger.hostLost) return moveHost(s, describeWork(s, work), trigger.error);
    return failRun(s, describeWork(s, work), trigger.error);
  }
  const result: EffectResult = trigger.result;
  switch (result.kind) {
    case 'prepare':
      if (work.kind !== 'prepare') break;
      return afterPrepare(s, result.workspace);
    case 'agent':
      if (work.kind !== 'agent') break;
      return afterAgent(s, result.summary, result.headSha);
    case 'prepareGroup':
      if (work.kind !== 'prepareGroup') break;
      return runGroup(s, work, result.workspaces);
    case 'mergeGroup':
      if (work.kind !== 'mergeGroup') break;
      return afterGroup({ ...s, workspace: withHead(s.workspace, result.headSha) }, work);
    case 'publish':
      if (work.kind !== 'publish') break;
      return afterPublish(s, result.review, result.remoteSha);
    case 'cleanup':
      break;
  }
  return failRun(s, describeWork(s, work), `the ${work.kind} effect returned a ${result.kind} result`);
}

/** The workspace is there: the round's first step, or (after a move) straight to publishing if the push had landed. */
function afterPrepare(s: CardState, workspace: Workspace): TransitionResult {
  const { resumeAt, ...rest } = s;
  const next: CardState = { ...rest, workspace, phase: s.phase === 'revising' ? 'revising' : 'working' };
  if (resumeAt !== undefined && workspace.remoteSha === resumeAt) return startPublish({ ...next, workspace: { ...workspace, headSha: resumeAt } });
  return startStep(next, s.phase === 'revising' ? reviseFrom(s) : 0);
}

function afterAgent(s: CardState, summary: string, headSha: string): TransitionResult {
  const freed = release(s, agentsOnly);
  return chain(freed.effects, startStep({ ...freed.state, lastSummary: summary, workspace: withHead(freed.state.workspace, headSha) }, s.stepIndex + 1));
}

/** The workspace with the HEAD a step left, kept on workspaces of a host (a move may need it: see moveHost). */
function withHead(workspace: Workspace | null, headSha: string): Workspace | null {
  return workspace && workspace.host !== undefined ? { ...workspace, headSha } : workspace;
}

/** Agent step `index` (or the parallel group it begins), or publishing once every step has run. */
function startStep(s: CardState, index: number): TransitionResult {
  const step = s.pipeline[index];
  if (step === undefined) return startPublish(s);
  if (s.workspace === null) return failRun(s, `agent step ${index + 1}`, 'no workspace to run the agent in');
  const group = groupOf(s, index);
  if (s.limits && !holds(s, 'agents')) return queue(s, 'agents', index, group ? group.steps.length : 1, s.limits.agents);
  if (group) return startGroup(s, index, group, s.workspace);
  const id = idFor(s, 'agent', step);
  return applied({ ...s, stepIndex: index, inFlight: { effectId: id, kind: 'agent', stepIndex: index } }, [
    { type: 'runAgent', effectId: id, card: s.card, step, stepIndex: index, round: s.round, feedback: s.feedback, workspace: s.workspace },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Parallel groups: prepareGroup (a worktree per step) → the steps' agents at once → mergeGroup → next step.
// The group's outcome is decided here, from each step's own result trigger as it arrives.

function startGroup(s: CardState, index: number, group: ParallelGroup, workspace: Workspace): TransitionResult {
  const first = group.steps[0]!;
  const members: GroupMember[] = group.steps.map((step, i) => ({
    step,
    stepIndex: index + i,
    effectId: idFor(s, 'agent', step),
    workspace: null,
    status: 'pending',
  }));
  const id = idFor(s, 'prepareGroup', first);
  return applied({ ...s, stepIndex: index, inFlight: { effectId: id, kind: 'prepareGroup', stepIndex: index, members } }, [
    { type: 'prepareGroup', effectId: id, card: s.card, workspace, steps: [...group.steps] },
  ]);
}

function runGroup(s: CardState, work: GroupWork, workspaces: Record<string, Workspace>): TransitionResult {
  const members = work.members;
  const missing = members.filter((m) => !workspaces[m.step]).map((m) => m.step);
  if (missing.length > 0) return failRun(s, describeWork(s, work), `no worktree for step(s) ${missing.join(', ')}`);
  const running: GroupMember[] = members.map((m) => ({ ...m, workspace: workspaces[m.step]!, status: 'running' }));
  const id = idFor(s, 'group', members[0]?.step);
  const next: CardState = { ...s, inFlight: { effectId: id, kind: 'group', stepIndex: work.stepIndex, members: running } };
  return applied(
    next,
    running.map((m) => ({
      type: 'runAgent',
      effectId: m.effectId,
      card: s.card,
      step: m.step,
      stepIndex: m.stepIndex,
      round: s.round,
      feedback: s.feedback,
      workspace: m.workspace!,
    })),
  );
}

/** A group step's agent result: wait for the others, or decide the group by its failure policy. */
function onMemberResult(s: CardState, work: GroupWork, trigger: ResultTrigger): TransitionResult {
  const members = work.members;
  const member = members.find((m) => m.effectId === trigger.effectId && m.status === 'running');
  if (!member) return ignore(s, `stale result for ${trigger.effectId} (in flight: ${work.effectId})`);
  const settled: GroupMember =
    trigger.type === 'effect.failed'
      ? { ...member, status: trigger.cancelled ? 'cancelled' : 'failed', error: clip(trigger.error, MAX_ERROR_LENGTH) }
      : trigger.result.kind === 'agent'
        ? { ...member, status: 'succeeded', summary: clip(trigger.result.summary, MAX_ERROR_LENGTH) }
        : { ...member, status: 'failed', error: `the agent effect returned a ${trigger.result.kind} result` };
  const updated = members.map((m) => (m === member ? settled : m));
  const lostNow = trigger.type === 'effect.failed' && trigger.hostLost === true && work.hostLost !== true;
  const groupWork: GroupWork = { ...work, members: updated, ...(lostNow ? { hostLost: true as const } : {}) };
  const next: CardState = { ...s, inFlight: groupWork };
  const running = updated.filter((m) => m.status === 'running');
  // The group's agents have all stopped: its agent slot goes back (before anything else the group's end leads to).
  const whenStopped = (then: (stopped: CardState) => TransitionResult): TransitionResult => {
    const freed = release({ ...next, inFlight: null }, agentsOnly);
    return chain(freed.effects, then(freed.state));
  };

  // The run was stopped meanwhile: once every step's process is gone, clean up.
  if (isTerminal(s.phase)) return running.length > 0 ? applied(next) : whenStopped((stopped) => (groupWork.hostLost ? forgetWorkspace(stopped) : cleanUp(stopped, stopped.workspace)));
  // The host holding the group's worktrees is gone: stop the other steps (they are on it too), then move.
  if (groupWork.hostLost) {
    if (running.length > 0) return applied(next, lostNow ? running.map((m) => ({ type: 'cancelEffect', effectId: m.effectId })) : []);
    return whenStopped((stopped) => moveHost(stopped, describeWork(s, work), settled.error ?? 'host lost'));
  }

  const policy = groupOf(s, work.stepIndex)?.onFailure ?? 'fail-fast';
  const failedBefore = members.some((m) => m.status === 'failed');
  // A cancellation we did not ask for (fail-fast asks only after a failure) ends the run, as for a single step.
  if (settled.status === 'cancelled' && !failedBefore) {
    if (running.length > 0) return cancelRun(next, `${describeWork(s, work)} was cancelled`);
    return whenStopped((stopped) => cancelRun(stopped, `${describeWork(s, work)} was cancelled`));
  }
  if (settled.status === 'failed' && policy === 'fail-fast' && !failedBefore && running.length > 0) {
    return applied(next, running.map((m) => ({ type: 'cancelEffect', effectId: m.effectId })));
  }
  if (running.length > 0) return applied(next);

  const succeeded = updated.filter((m) => m.status === 'succeeded');
  const failed = updated.filter((m) => m.status !== 'succeeded');
  if (failed.length > 0 && (policy !== 'best-effort' || succeeded.length === 0)) {
    const why = failed.map((m) => `${m.step}: ${m.status === 'cancelled' ? `cancelled (${policy})` : m.error ?? 'failed'}`).join('; ');
    return whenStopped((stopped) => failRun(stopped, `${describeWork(s, work)} [${policy}]`, why));
  }
  if (s.workspace === null) return whenStopped((stopped) => failRun(stopped, describeWork(s, work), 'no workspace to merge into'));
  return whenStopped((stopped) => {
    const workspace = stopped.workspace!;
    const id = idFor(stopped, 'mergeGroup', updated[0]?.step);
    return applied({ ...stopped, inFlight: { ...groupWork, effectId: id, kind: 'mergeGroup', members: updated } }, [
      { type: 'mergeGroup', effectId: id, card: s.card, workspace, merge: succeeded.map((m) => m.step), discard: failed.map((m) => m.step) },
    ]);
  });
}

function afterGroup(s: CardState, work: GroupWork): TransitionResult {
  const summaries = work.members.filter((m) => m.status === 'succeeded').map((m) => `${m.step}: ${m.summary ?? ''}`);
  const last = work.members[work.members.length - 1];
  return startStep({ ...s, lastSummary: summaries.join('\n') }, (last?.stepIndex ?? s.stepIndex) + 1);
}

/** Cancel whatever is in flight: the one effect, or every step of a group still running. A slot wait is withdrawn instead (see release). */
function cancelWork(work: InFlight): Effect[] {
  if (work.kind === 'slot') return [];
  if (work.kind === 'group') {
    return work.members.filter((m) => m.status === 'running').map((m) => ({ type: 'cancelEffect', effectId: m.effectId }));
  }
  return [{ type: 'cancelEffect', effectId: work.effectId }];
}

function startPublish(s: CardState): TransitionResult {
  if (s.workspace === null) return failRun(s, 'publishing', 'no workspace to publish');
  if (s.limits && s.limits.review !== null && !holds(s, 'review')) return queue(s, 'review', s.pipeline.length, 1, s.limits.review);
  const id = idFor(s, 'publish');
  return applied({ ...s, phase: 'publishing', inFlight: { effectId: id, kind: 'publish' } }, [
    { type: 'publish', effectId: id, card: s.card, workspace: s.workspace, round: s.round },
  ]);
}

function afterPublish(s: CardState, review: ReviewRequest, remoteSha: string): TransitionResult {
  const workspace = s.workspace && { ...s.workspace, remoteSha };
  const next: CardState = { ...s, phase: 'review', inFlight: null, review, workspace };
  const text = texts.reviewReady(next, review.url);
  return applied(next, [
    { type: 'moveCard', card: s.card, column: 'review' },
    { type: 'comment', card: s.card, commentKey: `review/${runLabel(s)}/${s.round}`, text },
    { type: 'notify', card: s.card, event: 'review.ready', text },
  ]);
}

/** A result arriving after the run was stopped (cancelled, or done by a merge mid-run): give back slots, clean up. */
function afterStopped(s: CardState, trigger: ResultTrigger): TransitionResult {
  const freed = release({ ...s, inFlight: null }, agentsOnly);
  if (trigger.type === 'effect.failed' && trigger.hostLost) return chain(freed.effects, forgetWorkspace(freed.state));
  const prepared = trigger.type === 'effect.succeeded' && trigger.result.kind === 'prepare' ? trigger.result.workspace : null;
  const workspace = prepared ?? s.workspace;
  return chain(freed.effects, cleanUp({ ...freed.state, workspace }, workspace));
}

/** The worktree is on a lost host: there is nothing to clean up from here; a requested restart begins. */
function forgetWorkspace(s: CardState): TransitionResult {
  return cleanUp({ ...s, inFlight: null, workspace: null }, null);
}

function afterCleanup(s: CardState, trigger: ResultTrigger): TransitionResult {
  const next: CardState = { ...s, inFlight: null };
  const effects: Effect[] =
    trigger.type === 'effect.failed' ? [{ type: 'notify', card: s.card, event: 'cleanup.failed', text: texts.cleanupFailed(s, trigger.error) }] : [];
  if (next.restartRequested && isTerminal(next.phase)) return chain(effects, startRun(next, 'restart'));
  return applied(next, effects);
}

// ---------------------------------------------------------------------------------------------
// Moving to another host.

/**
 * The host holding the card's worktree is gone (its queue timed out the task): prepare afresh on any host from
 * what was pushed and run the round's steps again. Publishing resumes directly if the new host finds that the
 * push being made had landed (`resumeAt`). Agent slots were given back when the agents stopped.
 */
function moveHost(s: CardState, what: string, error: string): TransitionResult {
  const moves = (s.moves ?? 0) + 1;
  if (moves > MAX_MOVES) return failRun({ ...s, workspace: null }, what, `the host was lost ${moves} times in this run; last: ${error}`);
  const branch = branchFor(s);
  if (branch instanceof Error) return failRun(s, 'choosing a branch name', branch.message);
  const freed = release(s, agentsOnly);
  const resumeAt = s.phase === 'publishing' ? s.workspace?.headSha : undefined;
  const moved: CardState = {
    ...freed.state,
    moves,
    workspace: null,
    phase: s.round > 0 ? 'revising' : 'preparing',
    stepIndex: s.round > 0 ? reviseFrom(s) : 0,
    ...(resumeAt !== undefined ? { resumeAt } : {}),
  };
  const id = idFor(moved, 'prepare');
  const next: CardState = { ...moved, inFlight: { effectId: id, kind: 'prepare' } };
  return applied(next, [
    ...freed.effects,
    { type: 'prepareWorkspace', effectId: id, card: s.card, branch, fresh: true },
    { type: 'notify', card: s.card, event: 'host.lost', text: texts.hostLost(next, what, error) },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Starting and ending runs.

function startRun(s: CardState, via: 'moved' | 'retry' | 'restart'): TransitionResult {
  const branch = branchFor(s);
  const { resumeAt: _resumeAt, moves: _moves, ...previous } = s;
  const fresh: CardState = {
    ...previous,
    run: s.run + 1,
    runTag: fingerprint(s.deliveries[s.deliveries.length - 1] ?? `run-${s.run + 1}`),
    round: 0,
    stepIndex: 0,
    feedback: [],
    lastError: null,
    lastSummary: null,
    review: null,
    workspace: null,
    inFlight: null,
    restartRequested: false,
  };
  if (branch instanceof Error) return failRun(fresh, 'choosing a branch name', branch.message);
  const id = idFor(fresh, 'prepare');
  const next: CardState = { ...fresh, phase: 'preparing', inFlight: { effectId: id, kind: 'prepare' } };
  // Workflows with limits started after host affinity: a new run starts from the remote, whatever a host kept.
  const effects: Effect[] = [{ type: 'prepareWorkspace', effectId: id, card: s.card, branch, ...(s.limits ? { fresh: true as const } : {}) }];
  // A retry from the CLI may find the card in another column: put it where a running card belongs.
  if (via === 'retry') effects.push({ type: 'moveCard', card: s.card, column: 'working' });
  effects.push({ type: 'notify', card: s.card, event: 'run.started', text: texts.runStarted(next) });
  return applied(next, effects);
}

/**
 * The card's branch: the one its last workspace used (a retitled card keeps its branch and so its PR),
 * else derived from the card key and title. A ref that cannot yield a safe name becomes an Error here
 * rather than an exception, to keep `transition` total.
 */
function branchFor(s: CardState): string | Error {
  const previous = s.workspace?.branch;
  if (previous !== undefined && isSafeBranchName(previous)) return previous;
  try {
    return branchNameForCard(s.card.ref, s.card.title);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function revise(s: CardState, comments: ReviewComment[]): TransitionResult {
  const branch = branchFor(s);
  const round = s.round + 1;
  const next: CardState = { ...s, phase: 'revising', round, feedback: comments, stepIndex: reviseFrom(s), lastError: null };
  if (branch instanceof Error) return failRun(next, 'choosing a branch name', branch.message);
  const id = idFor(next, 'prepare');
  const revising: CardState = { ...next, inFlight: { effectId: id, kind: 'prepare' } };
  // The worktree is on the host that published the last round: the revision's prepare runs there.
  const host = s.workspace?.host;
  return applied(revising, [
    { type: 'prepareWorkspace', effectId: id, card: s.card, branch, ...(host !== undefined ? { host } : {}) },
    { type: 'moveCard', card: s.card, column: 'working' },
    { type: 'notify', card: s.card, event: 'revision.started', text: texts.revisionStarted(revising) },
  ]);
}

/** Approved, merged or moved to done. A merge mid-run also stops whatever is in flight. */
function finish(s: CardState, how: 'approved' | 'merged' | 'movedToDone'): TransitionResult {
  // Agent slots go back once the agents have stopped; the rest (the review slot, a wait) now.
  const freed = release(s, (pool) => pool !== 'agents' || s.inFlight?.kind === 'slot');
  const r = freed.state;
  const effects: Effect[] = [...freed.effects];
  const stopping = r.inFlight !== null && r.inFlight.kind !== 'cleanup';
  if (stopping && r.inFlight) effects.push(...cancelWork(r.inFlight));
  if (how !== 'movedToDone') effects.push({ type: 'moveCard', card: s.card, column: 'done' });
  const next: CardState = { ...r, phase: 'done', restartRequested: false };
  effects.push({ type: 'notify', card: s.card, event: 'card.done', text: texts.done(next) });
  // When stopping, cleanup follows the in-flight effect's result (afterStopped).
  return stopping ? applied(next, effects) : chain(effects, cleanUp(next, next.workspace));
}

function cancelRun(s: CardState, why: string): TransitionResult {
  const freed = release(s, (pool) => pool !== 'agents' || s.inFlight?.kind === 'slot');
  const r = freed.state;
  const effects: Effect[] = [...freed.effects];
  // The result of a cancelled effect still comes back; cleanup waits for it. A cleanup is left to finish.
  const stopping = r.inFlight !== null && r.inFlight.kind !== 'cleanup';
  if (stopping && r.inFlight) effects.push(...cancelWork(r.inFlight));
  const next: CardState = { ...r, phase: 'cancelled', restartRequested: false };
  const text = texts.cancelled(next, why);
  effects.push(
    { type: 'comment', card: s.card, commentKey: `cancelled/${runLabel(s)}`, text },
    { type: 'notify', card: s.card, event: 'run.cancelled', text },
  );
  return r.inFlight !== null ? applied(next, effects) : chain(effects, cleanUp(next, next.workspace));
}

/** A lifecycle effect failed for good (the activity's retry policy has already run its course). */
function failRun(s: CardState, what: string, error: string): TransitionResult {
  // Nothing of the run is in flight any more (a failing group's agents have all stopped): every slot goes back.
  const freed = release({ ...s, inFlight: null });
  const next: CardState = { ...freed.state, phase: 'failed', lastError: clip(error, MAX_ERROR_LENGTH), inFlight: null, restartRequested: false };
  const text = texts.failed(next, what);
  const effects: Effect[] = [
    ...freed.effects,
    { type: 'comment', card: s.card, commentKey: `failed/${runLabel(s)}`, text },
    { type: 'notify', card: s.card, event: 'run.failed', text },
  ];
  return chain(effects, cleanUp(next, next.workspace));
}

/** Remove the worktree if there is one; with nothing to clean, a requested restart can begin at once. */
function cleanUp(s: CardState, workspace: Workspace | null): TransitionResult {
  if (workspace === null) return s.restartRequested ? startRun(s, 'restart') : applied(s);
  const id = idFor(s, 'cleanup');
  return applied({ ...s, inFlight: { effectId: id, kind: 'cleanup' } }, [
    { type: 'cleanupWorkspace', effectId: id, card: s.card, workspace },
  ]);
}

/** `r<run>-<tag>`: names the run in comment keys, unique across the card's workflow executions. */
function runLabel(s: CardState): string {
  return `r${s.run}-${s.runTag}`;
}
