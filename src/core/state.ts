/**
 * The card state's starting point and the questions the workflow asks of it (is the run over, may the
 * workflow complete). Pure: imported by workflow code.
 */
import { ACTIVE_PHASES, TERMINAL_PHASES, type CardInfo, type CardState, type Phase } from './types';

/** Delivery IDs kept in workflow state; older repeats are caught by the Postgres delivery log. */
export const MAX_REMEMBERED_DELIVERIES = 1000;

export const DEFAULT_PIPELINE: readonly string[] = ['implement'];

/** Step names become part of effect (and activity) IDs, so they must be unique and free of `/`. */
const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class InvalidPipelineError extends Error {
  override name = 'InvalidPipelineError';
}

/** Returns a copy of `pipeline`, or throws InvalidPipelineError if it is empty, repeats a step or has a bad name. */
export function validatePipeline(pipeline: readonly string[]): string[] {
  if (pipeline.length === 0) throw new InvalidPipelineError('a pipeline needs at least one step');
  const seen = new Set<string>();
  for (const step of pipeline) {
    if (!STEP_NAME.test(step)) throw new InvalidPipelineError(`step name ${JSON.stringify(step)} is not of the form ${STEP_NAME}`);
    if (seen.has(step)) throw new InvalidPipelineError(`step ${step} appears twice in the pipeline`);
    seen.add(step);
  }
  return [...pipeline];
}

/** A card Ouija has heard of but not started: idle, run 0. Throws InvalidPipelineError on a bad pipeline. */
export function initialState(card: CardInfo, pipeline: readonly string[] = DEFAULT_PIPELINE): CardState {
  return {
    card,
    phase: 'idle',
    pipeline: validatePipeline(pipeline),
    stepIndex: 0,
    run: 0,
    runTag: '',
    round: 0,
    feedback: [],
    inFlight: null,
    workspace: null,
    review: null,
    restartRequested: false,
    deliveries: [],
    lastError: null,
    lastSummary: null,
  };
}

/** No run under way (though a stopped run's last effect may still be finishing). */
export function isTerminal(phase: Phase): boolean {
  return TERMINAL_PHASES.includes(phase);
}

/** A run is under way and one of its lifecycle effects is (or is about to be) in flight. */
export function isActive(phase: Phase): boolean {
  return ACTIVE_PHASES.includes(phase);
}

/** Nothing runs and nothing will: the workflow may complete. */
export function isQuiescent(state: CardState): boolean {
  return isTerminal(state.phase) && state.inFlight === null && !state.restartRequested;
}

/** Where a revision starts: the step named 'implement' if the pipeline has one (planning is done), else the first. */
export function reviseFrom(pipeline: readonly string[]): number {
  return Math.max(0, pipeline.indexOf('implement'));
}
