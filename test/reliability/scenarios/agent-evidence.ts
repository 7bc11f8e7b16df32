/**
 * Evidence of how often a card's agent ran, for scenarios 5 and 6: the `runAgent` activities in the card's
 * Temporal history (a retried activity's ActivityTaskStarted event carries its final attempt number and the
 * previous attempt's failure), and the demo agent's marker file (`ouija-demo: marker=<path>`: one `start` line
 * per agent process, one `end` line per process that got to its result).
 */
import fs from 'node:fs';
import { defaultPayloadConverter } from '@temporalio/common';
import { workflowIdForCard } from '../../../src/core/cards';
import type { Harness } from '../../support/ouija-harness';

export interface AgentActivityEvidence {
  /** runAgent activities scheduled. */
  scheduled: number;
  /** The attempt number of each started runAgent activity (1 = never retried). */
  attempts: number[];
  /** The failure each started activity's last retry followed, if any (type: message). */
  lastFailures: string[];
  /** Event times (epoch ms) of the runAgent ActivityTaskScheduled and ActivityTaskStarted events, for timelines. */
  scheduledAt: number[];
  startedAt: number[];
}

function eventTime(e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
}

export async function agentActivities(h: Harness, cardKey: string): Promise<AgentActivityEvidence> {
  const history = await h.ouija.temporal.workflow.getHandle(workflowIdForCard(cardKey)).fetchHistory();
  const agentEvents = new Set<string>();
  const evidence: AgentActivityEvidence = { scheduled: 0, attempts: [], lastFailures: [], scheduledAt: [], startedAt: [] };
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAgent') {
      evidence.scheduled++;
      evidence.scheduledAt.push(eventTime(e));
      agentEvents.add(String(e.eventId));
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started && agentEvents.has(String(started.scheduledEventId))) {
      evidence.attempts.push(started.attempt ?? 0);
      evidence.startedAt.push(eventTime(e));
      const failure = started.lastFailure;
      if (failure) {
        const type = failure.applicationFailureInfo?.type ?? (failure.timeoutFailureInfo ? `timeout ${failure.timeoutFailureInfo.timeoutType}` : 'failure');
        evidence.lastFailures.push(`${type}: ${failure.message ?? ''}`);
      }
    }
  }
  return evidence;
}

export interface MarkerLine {
  what: 'start' | 'end';
  attempt: number;
  pid: number;
  at: number;
}

/** The demo agent's marker file, parsed (missing file: no lines). */
export function readMarker(file: string): MarkerLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, attempt, pid, at] = line.split(' ');
      if ((what !== 'start' && what !== 'end') || !pid || !at) throw new Error(`bad marker line ${JSON.stringify(line)} in ${file}`);
      return { what, attempt: Number(attempt), pid: Number(pid), at: Number(at) };
    });
}

/** How many activities of each type a card's history scheduled, and how many of its moveCard effects went to review. */
export async function scheduledActivities(h: Pick<Harness, 'ouija'>, cardKey: string): Promise<{ scheduled: Record<string, number>; movesToReview: number }> {
  const history = await h.ouija.temporal.workflow.getHandle(workflowIdForCard(cardKey)).fetchHistory();
  const scheduled: Record<string, number> = {};
  let movesToReview = 0;
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) continue;
    const type = a.activityType?.name ?? '?';
    scheduled[type] = (scheduled[type] ?? 0) + 1;
    if (type === 'moveCard' && defaultPayloadConverter.fromPayload<{ column?: string }>(a.input!.payloads![0]!).column === 'review') movesToReview++;
  }
  return { scheduled, movesToReview };
}
