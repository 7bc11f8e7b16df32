/**
 * Bare Temporal: the signed webhook starts `barePipeline` with workflow ID = card key (a repeated delivery
 * hits the already-started workflow and changes nothing); its own namespace and task queues.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { ensureNamespace, waitForNamespaceReady } from '../../src/temporal/namespace';
import { pool } from '../../test/reliability/scenarios/send';
import { createBareActivities } from './bare-activities';
import { BARE_AGENT_QUEUE, BARE_NAMESPACE, BARE_QUEUE } from './bare-queues';
import { activityTimings, publishCompletedAt } from './history';
import { signedPost, type BenchImpl, type CardSpec } from './types';
import { startWebhookServer } from './webhook-server';

const SECRET = 'bench-bare-secret';

export async function startBareTemporal(opts: { address: string; timeline: string; agentConcurrency: number }): Promise<BenchImpl> {
  const connection = await Connection.connect({ address: opts.address });
  await ensureNamespace(connection, BARE_NAMESPACE, 1);
  await waitForNamespaceReady(connection, BARE_NAMESPACE);
  const client = new Client({ connection, namespace: BARE_NAMESPACE });
  const native = await NativeConnection.connect({ address: opts.address });
  const activities = createBareActivities(opts.timeline);
  const workers = await Promise.all([
    Worker.create({ connection: native, namespace: BARE_NAMESPACE, taskQueue: BARE_QUEUE, workflowsPath: require.resolve('./bare-workflow'), activities }),
    Worker.create({ connection: native, namespace: BARE_NAMESPACE, taskQueue: BARE_AGENT_QUEUE, activities, maxConcurrentActivityTaskExecutions: opts.agentConcurrency }),
  ]);
  const running = Promise.all(workers.map((w) => w.run()));

  const specs = new Map<string, CardSpec>();
  const run = `${Date.now().toString(36)}`;
  let next = 0;
  const server = await startWebhookServer(SECRET, async (card) => {
    const spec = specs.get(card);
    if (!spec) throw new Error(`unknown card ${card}`);
    try {
      await client.workflow.start('barePipeline', { workflowId: card, taskQueue: BARE_QUEUE, args: [{ card, ...spec }] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  });

  return {
    name: 'bare-temporal',
    async newCards(list) {
      return list.map((spec) => {
        const card = `bare:${run}:${++next}`;
        specs.set(card, spec);
        return card;
      });
    },
    signedDelivery: (card, deliveryId) => signedPost(server.url, SECRET, JSON.stringify({ card }), deliveryId),
    async published(cards) {
      // At most 20 waits at once, in start order: with one long poll per card at once, N=5,000 ended in an
      // uncaught "Channel has been shut down" from a retried client call (16:08 run).
      const times = await pool(cards, 20, async (card) => {
        const handle = client.workflow.getHandle(card);
        await handle.result();
        return [card, await publishCompletedAt(handle)] as const;
      });
      return new Map(times);
    },
    activities: (card) => activityTimings(client.workflow.getHandle(card)),
    async stop() {
      await server.close();
      for (const w of workers) w.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}
