/**
 * The failure budget of a lifecycle activity: its own failures are counted in the heartbeat details handed to
 * the next attempt, a crash (an attempt that never got to count) leaves the count alone, and the failure that
 * reaches `maxFailures` is made non-retryable with the same message and type.
 * (That Temporal hands the last heartbeat before a failure to the next attempt is exercised on a real server by
 * test/integration/lifecycle/worker-crash.test.ts.)
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { withFailureBudget, type AttemptPolicy } from '../../../activities/failure-budget';

interface Outcome {
  error: unknown;
  heartbeats: unknown[];
}

async function attempt(opts: { attempt: number; carried?: unknown; policy?: AttemptPolicy; fails: () => never }): Promise<Outcome> {
  const env = new MockActivityEnvironment({ attempt: opts.attempt, heartbeatDetails: opts.carried }, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  try {
    await env.run(() => withFailureBudget(Context.current(), opts.policy, () => ({ startHead: 'abc' }), async () => opts.fails()));
  } catch (error) {
    return { error, heartbeats };
  }
  throw new Error('the attempt did not fail');
}

const boom = (): never => {
  throw ApplicationFailure.retryable('push refused by a flaky remote', 'GitError');
};

test('a failure below the budget is rethrown as it was, and counted in a last heartbeat with the latest details', async () => {
  const { error, heartbeats } = await attempt({ attempt: 1, policy: { maxFailures: 3 }, fails: boom });
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect((error as ApplicationFailure).nonRetryable).toBe(false);
  expect(heartbeats).toEqual([{ startHead: 'abc', failures: 1 }]);
});

test('crashes are not counted: attempt 7 after one real failure counts its own as the second', async () => {
  const { error, heartbeats } = await attempt({ attempt: 7, carried: { startHead: 'abc', failures: 1 }, policy: { maxFailures: 3 }, fails: boom });
  expect((error as ApplicationFailure).nonRetryable).toBe(false);
  expect(heartbeats).toEqual([{ startHead: 'abc', failures: 2 }]);
});

test('the failure that spends the budget becomes non-retryable, keeping its message and type', async () => {
  const { error, heartbeats } = await attempt({ attempt: 9, carried: { failures: 2 }, policy: { maxFailures: 3 }, fails: boom });
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ nonRetryable: true, type: 'GitError', message: 'push refused by a flaky remote' });
  expect(heartbeats).toEqual([{ startHead: 'abc', failures: 3 }]);
});

test('a plain Error keeps its name as the failure type', async () => {
  const { error } = await attempt({ attempt: 1, policy: { maxFailures: 1 }, fails: () => { throw new TypeError('bad state'); } });
  expect(error).toMatchObject({ nonRetryable: true, type: 'TypeError', message: 'bad state' });
});

test('cancellations and failures that are already final are not counted', async () => {
  const cancelled = await attempt({ attempt: 1, policy: { maxFailures: 1 }, fails: () => { throw new CancelledFailure('cancelled'); } });
  expect(cancelled.error).toBeInstanceOf(CancelledFailure);
  expect(cancelled.heartbeats).toEqual([]);
  const final = await attempt({ attempt: 1, policy: { maxFailures: 5 }, fails: () => { throw ApplicationFailure.nonRetryable('not allowed', 'RepoNotAllowedError'); } });
  expect(final.error).toMatchObject({ nonRetryable: true, type: 'RepoNotAllowedError' });
  expect(final.heartbeats).toEqual([]);
});

test('without a policy (a history from before it) the attempt fails as it always did', async () => {
  const { error, heartbeats } = await attempt({ attempt: 1, fails: boom });
  expect((error as ApplicationFailure).nonRetryable).toBe(false);
  expect(heartbeats).toEqual([]);
});
