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
 */
import { branchNameForCard, fingerprint, isSafeBranchName } from './cards';
import { effectId } from './effect-ids';
import { MAX_REMEMBERED_DELIVERIES, groupOf, isActive, isTerminal, reviseFrom } from './state';
import { MAX_ERROR_LENGTH, clip, describeWork, texts } from './texts';
import type {
  CardState,
  ColumnRole,
  Effect,
  EffectResult,
  ExternalTrigger,
  GroupMember,
  InFlight,
  ParallelGroup,
  ResultTrigger,
  ReviewComment,
  ReviewRequest,
  TransitionResult,
  Trigger,
  Workspace,
} from './types';

export function transition(state: CardState, trigger: Trigger): TransitionResult {
  return isResult(trigger) ? onResult(state, trigger) : onExternal(state, trigger);
}

function isResult(trigger: Trigger): trigger is ResultTrigger {
  return trigger.type === 'effect.succeeded' || trigger.type === 'effect.failed';
}

const applied = (state: CardState, effects: Effect[] = []): TransitionResult => ({ state, effects });
const ignore = (state: CardState, reason: string): TransitionResult => ({ state, effects: [], ignored: reason });

/** `first`'s effects, then those of the transition that follows from it. */
const chain = (first: Effect[], next: TransitionResult): TransitionResult => ({ ...next, effects: [...first, ...next.effects] });

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
// Results of lifecycle effects.

function onResult(s: CardState, trigger: ResultTrigger): TransitionResult {
  const work = s.inFlight;
  if (work?.kind === 'group') return onMemberResult(s, work, trigger);
  if (work === null || work.effectId !== trigger.effectId) {
    return ignore(s, `stale result for ${trigger.effectId} (in flight: ${work?.effectId ?? 'nothing'})`);
  }
  if (work.kind === 'cleanup') return afterCleanup(s, trigger);
  if (isTerminal(s.phase)) return afterStopped(s, trigger);
  if (!isActive(s.phase)) return ignore(s, `result for ${trigger.effectId} while ${s.phase}`); // review: nothing is in flight

  if (trigger.type === 'effect.failed') {
    // Cancelled without our asking (e.g. the workflow itself was cancelled): the run is over all the same.
    if (trigger.cancelled) return cancelRun({ ...s, inFlight: null }, `${describeWork(s, work)} was cancelled`);
    return failRun(s, describeWork(s, work), trigger.error);
  }
  const result: EffectResult = trigger.result;
  switch (result.kind) {
    case 'prepare':
      if (work.kind !== 'prepare') break;
      return startStep(
        { ...s, workspace: result.workspace, phase: s.phase === 'revising' ? 'revising' : 'working' },
        s.phase === 'revising' ? reviseFrom(s) : 0,
      );
    case 'agent':
      if (work.kind !== 'agent') break;
      return startStep({ ...s, lastSummary: result.summary }, s.stepIndex + 1);
    case 'prepareGroup':
      if (work.kind !== 'prepareGroup') break;
      return runGroup(s, work, result.workspaces);
    case 'mergeGroup':
      if (work.kind !== 'mergeGroup') break;
      return afterGroup(s, work);
    case 'publish':
      if (work.kind !== 'publish') break;
      return afterPublish(s, result.review, result.remoteSha);
    case 'cleanup':
      break;
  }
  return failRun(s, describeWork(s, work), `the ${work.kind} effect returned a ${result.kind} result`);
}

/** Agent step `index` (or the parallel group it begins), or publishing once every step has run. */
function startStep(s: CardState, index: number): TransitionResult {
  const step = s.pipeline[index];
  if (step === undefined) return startPublish(s);
  if (s.workspace === null) return failRun(s, `agent step ${index + 1}`, 'no workspace to run the agent in');
  const group = groupOf(s, index);
  if (group) return startGroup(s, index, group, s.workspace);
  const id = effectId(s.run, 'agent', s.round, step);
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
    effectId: effectId(s.run, 'agent', s.round, step),
    workspace: null,
    status: 'pending',
  }));
  const id = effectId(s.run, 'prepareGroup', s.round, first);
  return applied({ ...s, stepIndex: index, inFlight: { effectId: id, kind: 'prepareGroup', stepIndex: index, members } }, [
    { type: 'prepareGroup', effectId: id, card: s.card, workspace, steps: [...group.steps] },
  ]);
}

function runGroup(s: CardState, work: InFlight, workspaces: Record<string, Workspace>): TransitionResult {
  const members = work.members ?? [];
  const missing = members.filter((m) => !workspaces[m.step]).map((m) => m.step);
  if (missing.length > 0) return failRun(s, describeWork(s, work), `no worktree for step(s) ${missing.join(', ')}`);
  const running: GroupMember[] = members.map((m) => ({ ...m, workspace: workspaces[m.step]!, status: 'running' }));
  const id = effectId(s.run, 'group', s.round, members[0]?.step);
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
function onMemberResult(s: CardState, work: InFlight, trigger: ResultTrigger): TransitionResult {
  const members = work.members ?? [];
  const member = members.find((m) => m.effectId === trigger.effectId && m.status === 'running');
  if (!member) return ignore(s, `stale result for ${trigger.effectId} (in flight: ${work.effectId})`);
  const settled: GroupMember =
    trigger.type === 'effect.failed'
      ? { ...member, status: trigger.cancelled ? 'cancelled' : 'failed', error: clip(trigger.error, MAX_ERROR_LENGTH) }
      : trigger.result.kind === 'agent'
        ? { ...member, status: 'succeeded', summary: clip(trigger.result.summary, MAX_ERROR_LENGTH) }
        : { ...member, status: 'failed', error: `the agent effect returned a ${trigger.result.kind} result` };
  const updated = members.map((m) => (m === member ? settled : m));
  const next: CardState = { ...s, inFlight: { ...work, members: updated } };
  const running = updated.filter((m) => m.status === 'running');

  // The run was stopped meanwhile: once every step's process is gone, clean up.
  if (isTerminal(s.phase)) return running.length > 0 ? applied(next) : cleanUp({ ...next, inFlight: null }, next.workspace);

  const policy = groupOf(s, work.stepIndex ?? s.stepIndex)?.onFailure ?? 'fail-fast';
  const failedBefore = members.some((m) => m.status === 'failed');
  // A cancellation we did not ask for (fail-fast asks only after a failure) ends the run, as for a single step.
  if (settled.status === 'cancelled' && !failedBefore) {
    return cancelRun(running.length > 0 ? next : { ...next, inFlight: null }, `${describeWork(s, work)} was cancelled`);
  }
  if (settled.status === 'failed' && policy === 'fail-fast' && !failedBefore && running.length > 0) {
    return applied(next, running.map((m) => ({ type: 'cancelEffect', effectId: m.effectId })));
  }
  if (running.length > 0) return applied(next);

  const succeeded = updated.filter((m) => m.status === 'succeeded');
  const failed = updated.filter((m) => m.status !== 'succeeded');
  if (failed.length > 0 && (policy !== 'best-effort' || succeeded.length === 0)) {
    const why = failed.map((m) => `${m.step}: ${m.status === 'cancelled' ? `cancelled (${policy})` : m.error ?? 'failed'}`).join('; ');
    return failRun({ ...next, inFlight: null }, `${describeWork(s, work)} [${policy}]`, why);
  }
  if (s.workspace === null) return failRun(next, describeWork(s, work), 'no workspace to merge into');
  const id = effectId(s.run, 'mergeGroup', s.round, updated[0]?.step);
  return applied({ ...next, inFlight: { ...work, effectId: id, kind: 'mergeGroup', members: updated } }, [
    {
      type: 'mergeGroup',
      effectId: id,
      card: s.card,
      workspace: s.workspace,
      merge: succeeded.map((m) => m.step),
      discard: failed.map((m) => m.step),
    },
  ]);
}

function afterGroup(s: CardState, work: InFlight): TransitionResult {
  const members = work.members ?? [];
  const summaries = members.filter((m) => m.status === 'succeeded').map((m) => `${m.step}: ${m.summary ?? ''}`);
  const last = members[members.length - 1];
  return startStep({ ...s, lastSummary: summaries.join('\n') }, (last?.stepIndex ?? s.stepIndex) + 1);
}

/** Cancel whatever is in flight: the one effect, or every step of a group still running. */
function cancelWork(work: InFlight): Effect[] {
  if (work.kind === 'group') {
    return (work.members ?? []).filter((m) => m.status === 'running').map((m) => ({ type: 'cancelEffect', effectId: m.effectId }));
  }
  return [{ type: 'cancelEffect', effectId: work.effectId }];
}

function startPublish(s: CardState): TransitionResult {
  if (s.workspace === null) return failRun(s, 'publishing', 'no workspace to publish');
  const id = effectId(s.run, 'publish', s.round);
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

/** A result arriving after the run was stopped (cancelled, or done by a merge mid-run): clean up. */
function afterStopped(s: CardState, trigger: ResultTrigger): TransitionResult {
  const prepared = trigger.type === 'effect.succeeded' && trigger.result.kind === 'prepare' ? trigger.result.workspace : null;
  const workspace = prepared ?? s.workspace;
  return cleanUp({ ...s, workspace, inFlight: null }, workspace);
}

function afterCleanup(s: CardState, trigger: ResultTrigger): TransitionResult {
  const next: CardState = { ...s, inFlight: null };
  const effects: Effect[] =
    trigger.type === 'effect.failed' ? [{ type: 'notify', card: s.card, event: 'cleanup.failed', text: texts.cleanupFailed(s, trigger.error) }] : [];
  if (next.restartRequested && isTerminal(next.phase)) return chain(effects, startRun(next, 'restart'));
  return applied(next, effects);
}

// ---------------------------------------------------------------------------------------------
// Starting and ending runs.

function startRun(s: CardState, via: 'moved' | 'retry' | 'restart'): TransitionResult {
  const branch = branchFor(s);
  const fresh: CardState = {
    ...s,
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
  const id = effectId(fresh.run, 'prepare', 0);
  const next: CardState = { ...fresh, phase: 'preparing', inFlight: { effectId: id, kind: 'prepare' } };
  const effects: Effect[] = [{ type: 'prepareWorkspace', effectId: id, card: s.card, branch }];
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
  const id = effectId(s.run, 'prepare', round);
  const revising: CardState = { ...next, inFlight: { effectId: id, kind: 'prepare' } };
  return applied(revising, [
    { type: 'prepareWorkspace', effectId: id, card: s.card, branch },
    { type: 'moveCard', card: s.card, column: 'working' },
    { type: 'notify', card: s.card, event: 'revision.started', text: texts.revisionStarted(revising) },
  ]);
}

/** Approved, merged or moved to done. A merge mid-run also stops whatever is in flight. */
function finish(s: CardState, how: 'approved' | 'merged' | 'movedToDone'): TransitionResult {
  const effects: Effect[] = [];
  const stopping = s.inFlight !== null && s.inFlight.kind !== 'cleanup';
  if (stopping && s.inFlight) effects.push(...cancelWork(s.inFlight));
  if (how !== 'movedToDone') effects.push({ type: 'moveCard', card: s.card, column: 'done' });
  const next: CardState = { ...s, phase: 'done', restartRequested: false };
  effects.push({ type: 'notify', card: s.card, event: 'card.done', text: texts.done(next) });
  // When stopping, cleanup follows the in-flight effect's result (afterStopped).
  return stopping ? applied(next, effects) : chain(effects, cleanUp(next, next.workspace));
}

function cancelRun(s: CardState, why: string): TransitionResult {
  const effects: Effect[] = [];
  // The result of a cancelled effect still comes back; cleanup waits for it. A cleanup is left to finish.
  const stopping = s.inFlight !== null && s.inFlight.kind !== 'cleanup';
  if (stopping && s.inFlight) effects.push(...cancelWork(s.inFlight));
  const next: CardState = { ...s, phase: 'cancelled', restartRequested: false };
  const text = texts.cancelled(next, why);
  effects.push(
    { type: 'comment', card: s.card, commentKey: `cancelled/${runLabel(s)}`, text },
    { type: 'notify', card: s.card, event: 'run.cancelled', text },
  );
  return s.inFlight !== null ? applied(next, effects) : chain(effects, cleanUp(next, next.workspace));
}

/** A lifecycle effect failed for good (the activity's retry policy has already run its course). */
function failRun(s: CardState, what: string, error: string): TransitionResult {
  const next: CardState = { ...s, phase: 'failed', lastError: clip(error, MAX_ERROR_LENGTH), inFlight: null, restartRequested: false };
  const text = texts.failed(next, what);
  const effects: Effect[] = [
    { type: 'comment', card: s.card, commentKey: `failed/${runLabel(s)}`, text },
    { type: 'notify', card: s.card, event: 'run.failed', text },
  ];
  return chain(effects, cleanUp(next, next.workspace));
}

/** Remove the worktree if there is one; with nothing to clean, a requested restart can begin at once. */
function cleanUp(s: CardState, workspace: Workspace | null): TransitionResult {
  if (workspace === null) return s.restartRequested ? startRun(s, 'restart') : applied(s);
  const id = effectId(s.run, 'cleanup', s.round);
  return applied({ ...s, inFlight: { effectId: id, kind: 'cleanup' } }, [
    { type: 'cleanupWorkspace', effectId: id, card: s.card, workspace },
  ]);
}

/** `r<run>-<tag>`: names the run in comment keys, unique across the card's workflow executions. */
function runLabel(s: CardState): string {
  return `r${s.run}-${s.runTag}`;
}
