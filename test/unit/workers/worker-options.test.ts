/** `workers.maxCachedWorkflows`: read from the configuration and given to the workflow worker only. */
import os from 'node:os';
import type { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../../../src/config';
import { log } from '../../../src/log';
import { workerOptionsPerQueue, type QueueActivities, type StartWorkersOptions } from '../../../workers/queues';

const load = (workers: unknown) => loadConfig({ cwd: os.tmpdir(), env: {}, overrides: { workers } as never });

const optionsWith = (maxCachedWorkflows: number | undefined): StartWorkersOptions => ({
  connection: {} as NativeConnection,
  namespace: 'default',
  queues: ['workflows', 'agents'],
  activities: {} as QueueActivities,
  maxConcurrentAgents: 2,
  maxCachedWorkflows,
  workflowBundle: { codePath: '/nonexistent/bundle.js' },
  log,
});

test('the configuration leaves the cache to the SDK unless told, and refuses a size below 2', () => {
  expect(load({}).workers.maxCachedWorkflows).toBeUndefined();
  expect(load({ maxCachedWorkflows: 6000 }).workers.maxCachedWorkflows).toBe(6000);
  expect(() => load({ maxCachedWorkflows: 1 })).toThrow(ConfigError);
  expect(() => load({ maxCachedWorkflow: 10 })).toThrow(ConfigError);
});

test('the workflow worker gets the cache size; activity workers do not', () => {
  const sized = workerOptionsPerQueue(optionsWith(6000));
  expect(sized.workflows().maxCachedWorkflows).toBe(6000);
  expect(sized.agents()).not.toHaveProperty('maxCachedWorkflows');
  expect(workerOptionsPerQueue(optionsWith(undefined)).workflows()).not.toHaveProperty('maxCachedWorkflows');
});
