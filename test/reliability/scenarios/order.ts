/**
 * Scenario 3, order. The seed's queues completed steps in the order workers happened to finish them, and its
 * parent job polled its children's status ahead of the truth. Here:
 *  - a sequential pipeline `one → two → three` whose steps sleep random times, step two always slower than step
 *    three: in every card's Temporal history each step is scheduled only after the previous step's completion
 *    event, in pipeline order;
 *  - a parallel group `{a, b, c}` under each failure policy, with step b failing on some cards: the card ends as
 *    the policy says, and the decision is made in the first workflow task after the deciding result event (the
 *    failure for fail-fast, the last member's result otherwise). The histories hold no timers: nothing polls.
 *
 * Sizes: `order-runs` (sequential cards, default 20), `group-runs` (cards per policy, default 6, every other one
 * with a failing step).
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowIdForCard } from '../../../src/core/cards';
import type { CardState, GroupFailurePolicy } from '../../../src/core/types';
import { startHarness, type Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import { RELIABILITY_SECRETS, size, type Scenario } from './scenario';
import { pool } from './send';

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Harness['ouija']['temporal']['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

const SEQUENTIAL = ['one', 'two', 'three'];
const GROUP = ['a', 'b', 'c'];
const POLICIES: GroupFailurePolicy[] = ['fail-fast', 'wait-all', 'best-effort'];

/** Deterministic pseudo-random durations (ms) per card, so a failing run can be replayed with the same numbers. */
function durations(i: number): Record<string, number> {
  const r = (salt: number) => ((i * 7919 + salt * 104729) % 1000) / 1000;
  const three = Math.round(100 + r(3) * 400);
  return { one: Math.round(100 + r(1) * 900), two: three + 600 + Math.round(r(2) * 1400), three };
}

async function startCard(h: Harness, boardId: string, title: string, body: string): Promise<{ cardKey: string }> {
  const card = await h.api('POST', `/api/boards/${boardId}/cards`, { title, body });
  if (card.status !== 201) throw new Error(`create card: ${JSON.stringify(card.body)}`);
  const moved = await h.api('POST', `/api/cards/${card.body.id}/move`, { column: 'in-progress', expectedVersion: card.body.version });
  if (moved.status !== 200) throw new Error(`move: ${JSON.stringify(moved.body)}`);
  return { cardKey: `builtin:${boardId}:${card.body.id}` };
}

async function history(h: Harness, cardKey: string): Promise<HistoryEvent[]> {
  return (await h.ouija.temporal.workflow.getHandle(workflowIdForCard(cardKey)).fetchHistory()).events ?? [];
}

const id = (e: HistoryEvent) => Number(e.eventId);
const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);

/** The runAgent activities of a history: step name, scheduled event, and the event that ended it. */
function agentActivities(events: HistoryEvent[]) {
  const byScheduled = new Map<number, { step: string; scheduled: HistoryEvent; started?: HistoryEvent; ended?: HistoryEvent; how?: string }>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'runAgent') byScheduled.set(id(e), { step: String(s.activityId).split('/')[2] ?? '?', scheduled: e });
    const scheduledId = Number(
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
        e.activityTaskCompletedEventAttributes?.scheduledEventId ??
        e.activityTaskFailedEventAttributes?.scheduledEventId ??
        e.activityTaskCanceledEventAttributes?.scheduledEventId ??
        e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
        NaN,
    );
    const activity = byScheduled.get(scheduledId);
    if (!activity) continue;
    if (e.activityTaskStartedEventAttributes) activity.started = e;
    else {
      activity.ended = e;
      activity.how = e.activityTaskCompletedEventAttributes ? 'completed' : e.activityTaskFailedEventAttributes ? 'failed' : e.activityTaskCanceledEventAttributes ? 'cancelled' : 'timed out';
    }
  }
  return [...byScheduled.values()];
}

/** The event ID of the first WorkflowTaskCompleted after event `after`: the workflow task that reacted to it. */
function reactingTask(events: HistoryEvent[], after: number): number {
  const task = events.find((e) => id(e) > after && e.workflowTaskCompletedEventAttributes);
  return task ? id(task) : Infinity;
}

/** Commands of the workflow task completed at `taskId`: the events up to the next WorkflowTaskScheduled or the end. */
function commandsOf(events: HistoryEvent[], taskId: number): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const e of events.filter((x) => id(x) > taskId)) {
    if (e.workflowTaskScheduledEventAttributes || e.activityTaskStartedEventAttributes || e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskCanceledEventAttributes || e.workflowExecutionSignaledEventAttributes) break;
    out.push(e);
  }
  return out;
}

const scheduledType = (e: HistoryEvent) => e.activityTaskScheduledEventAttributes?.activityType?.name;

async function sequentialRows(h: Harness, runs: number): Promise<Row[]> {
  const board = await h.api('POST', '/api/boards', { id: 'order', name: 'Order', repo: h.remote });
  const cards = await pool(Array.from({ length: runs }, (_, i) => i), 8, async (i) => {
    const d = durations(i);
    const body = `ouija-demo: per-step ${SEQUENTIAL.map((s) => `sleep@${s}=${d[s]}`).join(' ')}`;
    return { ...(await startCard(h, board.body.id, `order ${i}`, body)), d };
  });
  await pool(cards, 8, (c) => h.waitFor(c.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', `card ${c.cardKey} at rest`, 300_000));

  const outOfOrder: unknown[] = [];
  let twoSlower = 0;
  let timers = 0;
  for (const c of cards) {
    const events = await history(h, c.cardKey);
    timers += events.filter((e) => e.timerStartedEventAttributes).length;
    const acts = agentActivities(events);
    const steps = acts.map((a) => a.step);
    const ok =
      steps.join() === SEQUENTIAL.join() &&
      acts.every((a) => a.how === 'completed') &&
      acts.every((a, k) => k === 0 || id(a.scheduled) > id(acts[k - 1]!.ended!));
    if (!ok) outOfOrder.push({ card: c.cardKey, steps, how: acts.map((a) => a.how) });
    const took = (step: string) => {
      const a = acts.find((x) => x.step === step);
      return a?.started && a.ended ? ms(a.ended) - ms(a.started) : NaN;
    };
    if (took('two') > took('three')) twoSlower++;
  }
  return [
    {
      scenario: '3 order: sequential steps',
      runs,
      expected: `steps one → two → three, each scheduled after the previous one's completion event, ${runs}/${runs}`,
      observed: `${runs - outOfOrder.length}/${runs} in order; step two ran longer than step three in ${twoSlower}/${runs}; ${timers} timers`,
      pass: outOfOrder.length === 0 && twoSlower === runs && timers === 0,
      details: { outOfOrder },
    },
  ];
}

interface GroupCard {
  cardKey: string;
  failing: boolean;
}

/** Checks one card of a group run; returns a problem, or null. */
function checkGroupCard(policy: GroupFailurePolicy, card: GroupCard, events: HistoryEvent[], final: CardState): string | null {
  if (events.some((e) => e.timerStartedEventAttributes)) return 'the history has timers (polling?)';
  const members = agentActivities(events).filter((a) => GROUP.includes(a.step));
  if (members.length !== GROUP.length) return `${members.length} group steps scheduled`;
  // Launched together: every member scheduled by the same workflow task.
  const launchTasks = new Set(members.map((m) => id(events.filter((e) => e.workflowTaskCompletedEventAttributes && id(e) < id(m.scheduled)).at(-1)!)));
  if (launchTasks.size !== 1) return 'group steps were not scheduled together';

  const merge = events.find((e) => scheduledType(e) === 'mergeGroup');
  const next = agentActivities(events).find((a) => a.step === 'after');
  if (!card.failing) {
    if (final.phase !== 'review') return `ended ${final.phase}, expected review`;
    const lastEnd = Math.max(...members.map((m) => id(m.ended!)));
    if (!merge || reactingTask(events, lastEnd) > id(merge)) return 'mergeGroup not scheduled by the task after the last step';
    if (!next || id(next.scheduled) < id(merge)) return 'the step after the group began before the merge';
    return null;
  }

  const failed = members.find((m) => m.step === 'b');
  if (failed?.how !== 'failed') return `step b ${failed?.how ?? 'missing'}, expected failed`;
  const others = members.filter((m) => m.step !== 'b');
  if (policy === 'fail-fast') {
    if (final.phase !== 'failed') return `ended ${final.phase}, expected failed`;
    // The others are cancelled by the workflow task that reacted to b's failure event.
    const decided = commandsOf(events, reactingTask(events, id(failed.ended!)));
    const cancels = decided.filter((e) => e.activityTaskCancelRequestedEventAttributes).map((e) => Number(e.activityTaskCancelRequestedEventAttributes!.scheduledEventId));
    const stillRunning = others.filter((m) => id(m.ended!) > id(failed.ended!));
    if (stillRunning.some((m) => !cancels.includes(id(m.scheduled)))) return 'a running step was not cancelled by the task after the failure';
    // A step may finish in the moment between the cancel request and its delivery: completed counts, failed doesn't.
    if (stillRunning.some((m) => m.how !== 'cancelled' && m.how !== 'completed')) return `cancelled steps ended ${stillRunning.map((m) => `${m.step} ${m.how}`).join(', ')}`;
    if (merge || next) return 'the run went on after a fail-fast failure';
    return null;
  }
  if (others.some((m) => m.how !== 'completed')) return `the other steps ended ${others.map((m) => m.how).join(', ')}, expected completed`;
  const lastEnd = Math.max(...members.map((m) => id(m.ended!)));
  const decided = commandsOf(events, reactingTask(events, lastEnd));
  if (policy === 'wait-all') {
    if (final.phase !== 'failed') return `ended ${final.phase}, expected failed`;
    if (!decided.some((e) => scheduledType(e) === 'cleanupWorkspace')) return 'the failure was not decided by the task after the last step';
    if (merge || next) return 'the run went on after a wait-all failure';
    return null;
  }
  if (final.phase !== 'review') return `ended ${final.phase}, expected review`;
  if (!decided.some((e) => scheduledType(e) === 'mergeGroup')) return 'the merge was not decided by the task after the last step';
  const mergeInput = merge && defaultPayloadConverter.fromPayload<{ merge: string[]; discard: string[] }>(merge.activityTaskScheduledEventAttributes!.input!.payloads![0]!);
  if (mergeInput?.merge.join() !== 'a,c' || mergeInput.discard.join() !== 'b') return `merged ${JSON.stringify(mergeInput)}, expected a and c, not b`;
  return null;
}

async function groupRows(policy: GroupFailurePolicy, runs: number): Promise<Row> {
  const h = await startHarness({
    pipeline: ['before', { parallel: GROUP, onFailure: policy }, 'after'],
    agent: { maxConcurrent: 6 },
    secrets: { builtinWebhook: RELIABILITY_SECRETS.builtin },
  });
  try {
    const board = await h.api('POST', '/api/boards', { id: `group-${policy}`, name: policy, repo: h.remote });
    const cards: GroupCard[] = await pool(Array.from({ length: runs }, (_, i) => i), 4, async (i) => {
      const failing = i % 2 === 1;
      // b fails quickly while a and c are still working, so fail-fast has something to cancel.
      const body = `ouija-demo: per-step sleep@a=${4000 + i * 100} sleep@c=${5000 - i * 100} ${failing ? 'exit@b=3' : 'sleep@b=300'}`;
      return { ...(await startCard(h, board.body.id, `${policy} ${i}`, body)), failing };
    });
    const problems: unknown[] = [];
    for (const c of cards) {
      const final = await h.waitFor(c.cardKey, (s) => (s.phase === 'review' || s.phase === 'failed') && s.inFlight === null, `card ${c.cardKey} at rest`, 300_000);
      const problem = checkGroupCard(policy, c, await history(h, c.cardKey), final);
      if (problem) problems.push({ card: c.cardKey, failing: c.failing, problem });
    }
    const failing = cards.filter((c) => c.failing).length;
    const expect = { 'fail-fast': 'failed, others cancelled by the next task', 'wait-all': 'others finish, then failed', 'best-effort': 'others merged, review' }[policy];
    return {
      scenario: `3 order: parallel group ${policy}`,
      runs,
      expected: `${runs - failing} succeed → merged then next step; ${failing} with b failing → ${expect}; decided from result events, 0 timers`,
      observed: `${runs - problems.length}/${runs} as declared`,
      pass: problems.length === 0,
      details: { problems },
    };
  } finally {
    await h.stop();
  }
}

export const order: Scenario = {
  name: 'order',
  overrides: () => ({ pipeline: SEQUENTIAL, agent: { maxConcurrent: 6 } }),
  async run({ harness, params }) {
    const rows = await sequentialRows(harness, size(params, 'order-runs', 20));
    for (const policy of POLICIES) rows.push(await groupRows(policy, size(params, 'group-runs', 6)));
    return rows;
  },
};
