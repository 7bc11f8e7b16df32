/**
 * The card state's starting point and the questions the workflow asks of it (is the run over, may the
 * workflow complete). Pure: imported by workflow code.
 */
import {
  ACTIVE_PHASES,
  TERMINAL_PHASES,
  type CardInfo,
  type CardLimits,
  type CardRef,
  type CardState,
  type ExternalTrigger,
  type GroupMember,
  type InFlight,
  type ParallelGroup,
  type Phase,
  type PipelineEntry,
  type SlotPool,
  type Trigger,
} from './types';

/** Delivery IDs kept in workflow state; older repeats are caught by the Postgres delivery log. */
export const MAX_REMEMBERED_DELIVERIES = 1000;

export const DEFAULT_PIPELINE: readonly string[] = ['implement'];

/** Step names become part of effect (and activity) IDs, so they must be unique and free of `/`. */
export const STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class InvalidPipelineError extends Error {
  override name = 'InvalidPipelineError';
}

/**
 * The flat step names of `pipeline` and its parallel groups, or throws InvalidPipelineError if it is empty,
 * repeats a step, has a bad name or a group of fewer than two steps.
 */
export function validatePipeline(pipeline: readonly PipelineEntry[]): { steps: string[]; groups: ParallelGroup[] } {
  if (pipeline.length === 0) throw new InvalidPipelineError('a pipeline needs at least one step');
  const steps: string[] = [];
  const groups: ParallelGroup[] = [];
  const add = (step: string) => {
    if (!STEP_NAME.test(step)) throw new InvalidPipelineError(`step name ${JSON.stringify(step)} is not of the form ${STEP_NAME}`);
    if (steps.includes(step)) throw new InvalidPipelineError(`step ${step} appears twice in the pipeline`);
    steps.push(step);
  };
  for (const entry of pipeline) {
    if (typeof entry === 'string') {
      add(entry);
      continue;
    }
    if (entry.parallel.length < 2) throw new InvalidPipelineError('a parallel group needs at least two steps');
    entry.parallel.forEach(add);
    groups.push({ steps: [...entry.parallel], onFailure: entry.onFailure ?? 'fail-fast' });
  }
  return { steps, groups };
}

/**
 * A card Ouija has heard of but not started: idle, run 0. Throws InvalidPipelineError on a bad pipeline.
 * `limits`: the cluster-wide limits it honours (workflows under the `ouija-cluster-limits` patch); none: no slots.
 */
export function initialState(card: CardInfo, pipeline: readonly PipelineEntry[] = DEFAULT_PIPELINE, limits?: CardLimits): CardState {
  const { steps, groups } = validatePipeline(pipeline);
  return {
    ...(limits ? { limits } : {}),
    card,
    phase: 'idle',
    pipeline: steps,
    // Only pipelines with groups carry the field, so states (and saved histories) of the others are unchanged.
    ...(groups.length > 0 ? { groups } : {}),
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

/**
 * Where a revision starts: the step named 'implement' if the pipeline has one (planning is done), else the
 * first; when 'implement' is in a parallel group, the whole group runs again.
 */
export function reviseFrom(state: Pick<CardState, 'pipeline' | 'groups'>): number {
  const index = Math.max(0, state.pipeline.indexOf('implement'));
  const group = groupOf(state, index);
  return group ? state.pipeline.indexOf(group.steps[0]!) : index;
}

/** The parallel group step `index` belongs to, if any. */
export function groupOf(state: Pick<CardState, 'pipeline' | 'groups'>, index: number): ParallelGroup | undefined {
  const step = state.pipeline[index];
  return step === undefined ? undefined : state.groups?.find((group) => group.steps.includes(step));
}

/**
 * A state as this code reads it, from any version that wrote it (a continue-as-new carries the previous run's state,
 * and saved histories hold old ones): in-flight work of before the tagged union gets the fields its kind has now.
 */
export function readState(state: CardState): CardState {
  const work = state.inFlight as (Omit<InFlight, 'kind'> & { kind: InFlight['kind']; stepIndex?: number; members?: GroupMember[] }) | null;
  if (work === null) return state;
  switch (work.kind) {
    case 'agent':
    case 'slot':
      return work.stepIndex === undefined ? { ...state, inFlight: { ...work, stepIndex: state.stepIndex } as InFlight } : state;
    case 'prepareGroup':
    case 'group':
    case 'mergeGroup':
      if (work.stepIndex !== undefined && work.members !== undefined) return state;
      return { ...state, inFlight: { ...work, stepIndex: work.stepIndex ?? state.stepIndex, members: work.members ?? [] } as InFlight };
    default:
      return state;
  }
}

/** Only these may start a run (and so create a card's workflow); any other trigger needs a workflow that exists. */
export function startsRun(trigger: ExternalTrigger | Trigger): boolean {
  return (trigger.type === 'card.moved' && trigger.column === 'working') || trigger.type === 'operator.retry';
}

/** Whether the card holds a slot of `pool`. */
export function holds(state: Pick<CardState, 'slots'>, pool: SlotPool): boolean {
  return (state.slots ?? []).some((slot) => slot.pool === pool);
}

/**
 * The limiter a pool's slots come from, which is also its workflow's name: one agent pool for the cluster (the
 * Temporal namespace), one review pool per board.
 */
export function limiterOf(pool: SlotPool, ref: CardRef): string {
  return pool === 'agents' ? 'agents' : `review:${ref.provider}:${ref.boardId}`;
}
