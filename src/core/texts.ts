/**
 * What Ouija says on the card (comments) and to people (notifications). Card titles, summaries and errors
 * come from outside and can be huge, so every piece is clipped: effects travel through workflow history.
 */
import type { CardState, GroupWork, InFlight } from './types';

const MAX_TITLE = 200;
const MAX_SUMMARY = 4000;
/** Also the cap on `lastError`, which lives in workflow state and is carried across continue-as-new. */
export const MAX_ERROR_LENGTH = 4000;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function cardLabel(state: CardState): string {
  return `${state.card.key} "${clip(state.card.title, MAX_TITLE)}"`;
}

/** Which lifecycle effect this was, in words: "agent step 2/3 (test)". */
export function describeWork(state: CardState, work: InFlight): string {
  switch (work.kind) {
    case 'prepare':
      return 'workspace preparation';
    case 'agent':
      return `agent step ${work.stepIndex + 1}/${state.pipeline.length} (${state.pipeline[work.stepIndex] ?? '?'})`;
    case 'slot':
      return work.pool === 'agents' ? `waiting for an agent slot for step ${work.stepIndex + 1}/${state.pipeline.length}` : 'waiting for a review slot';
    case 'publish':
      return 'publishing the branch for review';
    case 'cleanup':
      return 'workspace cleanup';
    case 'prepareGroup':
      return `preparing the worktrees of parallel group ${groupLabel(work)}`;
    case 'group':
      return `parallel group ${groupLabel(work)}`;
    case 'mergeGroup':
      return `merging parallel group ${groupLabel(work)}`;
  }
}

function groupLabel(work: GroupWork): string {
  return `(${work.members.map((m) => m.step).join(', ')})`;
}

export const texts = {
  runStarted: (s: CardState) => `Run ${s.run} started for ${cardLabel(s)}.`,
  revisionStarted: (s: CardState) =>
    `Changes requested on ${cardLabel(s)}: revision round ${s.round} started with ${s.feedback.length} comment(s).`,
  reviewReady: (s: CardState, url: string) =>
    [`Ready for review: ${url} (run ${s.run}, round ${s.round}).`, s.lastSummary ? clip(s.lastSummary, MAX_SUMMARY) : '']
      .filter(Boolean)
      .join('\n\n'),
  done: (s: CardState) => `${cardLabel(s)} is done.`,
  failed: (s: CardState, what: string) =>
    `Run ${s.run} failed during ${what}: ${s.lastError ?? 'unknown error'}\n\n` +
    'Move the card to the working column again to retry.',
  cancelled: (s: CardState, why: string) => `Run ${s.run} was cancelled: ${why}.`,
  hostLost: (s: CardState, what: string, error: string) =>
    `The host holding the worktree of ${cardLabel(s)} stopped answering during ${what} (${clip(error, 200)}); ` +
    `run ${s.run} moves to another host (move ${s.moves ?? 0}) and starts again from what was pushed.`,
  cleanupFailed: (s: CardState, error: string) =>
    `Could not clean up the workspace of ${cardLabel(s)}: ${clip(error, MAX_ERROR_LENGTH)}`,
};
