/** Heartbeating while an activity waits on something slow, so its heartbeat timeout measures liveness, not work. */
import type { Context } from '@temporalio/activity';

export const HEARTBEAT_EVERY_MS = 1_000;

/** Awaits `work`, heartbeating `details()` every HEARTBEAT_EVERY_MS meanwhile (and once at once). */
export async function heartbeatDuring<T>(ctx: Context, details: () => unknown, work: Promise<T>): Promise<T> {
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
