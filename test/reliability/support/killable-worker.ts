/**
 * TEST ONLY (scenario 7, test/reliability/scenarios/worker-kill.ts): `ouija worker` with every queue, started
 * through the same `startOuija` composition, in a process of its own, plus an activity inbound interceptor that
 * SIGKILLs this very process at one of the kill points of the plan in OUIJA_KILL_PLAN (JSON, see `KillPlan`):
 *
 * - `agent`:  mid-agent — `runAgent` of the target card, once its demo agent has written its `start` marker line
 *             (it is running) and `agentDelayMs` more have passed.
 * - `agent-done`: between the agent's success and its report — `runAgent` of the target card once the activity
 *             has returned its result (the agent run is recorded as succeeded), before Temporal hears of it.
 * - `push`:   between push and review request — `publish` of the target card, as soon as the card's branch ref
 *             appears in the bare remote (the push has landed; `openOrUpdateReview` comes after the push returns,
 *             so it has not run yet; the scenario checks that afterwards against the review request's created_at).
 *             The publish activity does push and review request in one call, so this is the only gap between them
 *             that a test can hit without a fault hook in production code.
 * - `review`: between review request and report — `moveCard` to review of the target card, before it runs (the
 *             publish activity, review request included, has completed and been recorded).
 *
 * The first target hit is written to `killLog` (sync) before the SIGKILL; the scenario restarts this process with
 * the remaining targets. Production code has no fault hooks: the interceptor is added here by wrapping
 * `Worker.create` before `startOuija` creates its workers. Prints `ready` once polling.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import type { OuijaConfig } from '../../../src/config';
import { log } from '../../../src/log';
import { startOuija } from '../../../workers/all-in-one';
import type { QueueName } from '../../../workers/queues';

export type KillPoint = 'agent' | 'agent-done' | 'push' | 'review';
export interface KillTarget {
  card: string;
  point: KillPoint;
  /** The demo agent's marker file of the card (`marker=` directive). */
  marker: string;
}
export interface KillPlan {
  targets: KillTarget[];
  killLog: string;
  remote: string;
  agentDelayMs: number;
  /**
   * No kill before this time (epoch ms): each new worker first gets a quiet spell, so that the work a kill took
   * down as collateral (other cards' agents) can finish between kills instead of dying again and again.
   */
  armAt: number;
}
export interface KillRecord {
  target: KillTarget;
  at: number;
  activity: string;
  attempt: number;
  /** push: whether the branch was on the remote already when this publish attempt began. */
  branchPreexisting?: boolean;
  branch?: string;
}

const plan = JSON.parse(process.env.OUIJA_KILL_PLAN ?? 'null') as KillPlan | null;
let dying = false;

function die(record: KillRecord): void {
  if (dying || Date.now() < plan!.armAt) return;
  dying = true;
  fs.writeFileSync(plan!.killLog, JSON.stringify(record));
  process.kill(process.pid, 'SIGKILL');
}

function starts(marker: string): number {
  try {
    return fs.readFileSync(marker, 'utf8').split('\n').filter((l) => l.startsWith('start ')).length;
  } catch {
    return 0;
  }
}

/** Polls `check` every few ms until it is true (then calls `then`) or `until` settles. */
function watch(check: () => boolean, then: () => void, until: Promise<unknown>, everyMs = 2): void {
  let done = false;
  const timer = setInterval(() => {
    if (done) return;
    if (check()) {
      done = true;
      clearInterval(timer);
      then();
    }
  }, everyMs);
  void until.finally(() => {
    done = true;
    clearInterval(timer);
  });
}

const killer: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const type = ctx.info.activityType;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const effect = input.args[0] as any;
      const cardKey: string | undefined = effect?.card?.key;
      const matches = (t: KillTarget) => ((t.point === 'agent' || t.point === 'agent-done') && type === 'runAgent') || (t.point === 'push' && type === 'publish') || (t.point === 'review' && type === 'moveCard' && effect.column === 'review');
      // The target's own card first; once armed, any card at a remaining target's point (a card the plan meant may
      // have passed that point during the quiet spell), with that card's marker file.
      const planned = plan?.targets.find((t) => t.card === cardKey && matches(t));
      const other = plan?.targets.find(matches);
      const marker = /marker=(\S+)/.exec(String(effect?.card?.body ?? ''))?.[1];
      const target = planned ?? (other && cardKey && marker ? { ...other, card: cardKey, marker } : undefined);
      if (!target) return next(input);
      const base = { target, activity: type, attempt: ctx.info.attempt };
      if (target.point === 'review') {
        die({ ...base, at: Date.now() });
        return next(input); // not reached
      }
      if (target.point === 'agent-done') {
        const result = await next(input);
        die({ ...base, at: Date.now() });
        return result; // reached only while the worker is not armed yet
      }
      const running = next(input);
      let finished = false;
      void running.finally(() => (finished = true)).catch(() => undefined);
      if (target.point === 'agent') {
        const before = starts(target.marker);
        watch(
          () => starts(target.marker) > before,
          // Mid-agent: some time into the agent's work, and not before the quiet spell is over.
          () => setTimeout(() => !finished && die({ ...base, at: Date.now() }), Math.max(plan!.agentDelayMs, plan!.armAt - Date.now())),
          running,
        );
      } else {
        const branch: string = effect.workspace.branch;
        const ref = path.join(plan!.remote, 'refs', 'heads', ...branch.split('/'));
        // Only a push that lands now is "between push and review request": a retry whose branch is already on the
        // remote (its earlier attempt pushed, and may have opened the request) is not that point.
        if (fs.existsSync(ref)) return running;
        watch(() => fs.existsSync(ref), () => die({ ...base, at: Date.now(), branch, branchPreexisting: false }), running);
      }
      return running;
    },
  },
});

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OUIJA_KILLABLE_CONFIG ?? 'null') as OuijaConfig | null;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!config || !temporalAddress || !plan) throw new Error('OUIJA_KILLABLE_CONFIG, OUIJA_KILL_PLAN and TEMPORAL_ADDRESS must be set');
  const create = Worker.create.bind(Worker);
  Worker.create = (options) => create({ ...options, interceptors: { ...options.interceptors, activity: [...(options.interceptors?.activity ?? []), killer] } });
  const bundle = process.env.OUIJA_TEST_WORKFLOW_BUNDLE;
  // OUIJA_WORKER_QUEUES (comma-separated): only these queues, as `ouija worker -q ...` runs them; default all.
  const queues = process.env.OUIJA_WORKER_QUEUES?.split(',').filter(Boolean) as QueueName[] | undefined;
  const ouija = await startOuija({ config, temporalAddress, log, queues, workflowBundle: bundle ? { codePath: bundle } : undefined });
  process.stdout.write('ready\n');
  const stop = () => void ouija.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  log.error({ err }, 'killable worker failed to start');
  process.exit(1);
});
