/**
 * The seed's design on BullMQ + Redis: a queue per step (prepare → agent → publish), the agent steps and the
 * publish as a FlowProducer tree (children run before their parent: a nested chain for a sequential pipeline,
 * siblings for a parallel group), and BullMQ deduplication on the webhook's delivery ID.
 */
import { FlowProducer, Queue, Worker, type ConnectionOptions, type FlowJob } from 'bullmq';
import { runSleeper } from '../timeline';
import { signedPost, until, type BenchImpl, type CardSpec } from './types';
import { startWebhookServer } from './webhook-server';

const SECRET = 'bench-bullmq-secret';

interface AgentJob {
  card: string;
  step: string;
  sleepMs: number;
}

/** publish ← agent steps: nested (each waits for the one before) or side by side (one parallel group). */
export function pipelineFlow(card: string, spec: CardSpec): FlowJob {
  const agent = (i: number, children?: FlowJob[]): FlowJob => ({
    name: spec.steps[i]!,
    queueName: 'agent',
    data: { card, step: spec.steps[i]!, sleepMs: spec.sleepsMs[i] ?? 0 } satisfies AgentJob,
    ...(children ? { children } : {}),
  });
  let children: FlowJob[];
  if (spec.parallel) {
    children = spec.steps.map((_, i) => agent(i));
  } else {
    let chain: FlowJob | undefined;
    for (let i = 0; i < spec.steps.length; i++) chain = agent(i, chain ? [chain] : undefined);
    children = chain ? [chain] : [];
  }
  return { name: 'publish', queueName: 'publish', data: { card }, children };
}

export async function startBullmq(opts: { redisPort: number; timeline: string; agentConcurrency: number }): Promise<BenchImpl> {
  const connection: ConnectionOptions = { host: '127.0.0.1', port: opts.redisPort, maxRetriesPerRequest: null };
  const specs = new Map<string, CardSpec>();
  const publishedAt = new Map<string, number>();
  const prepare = new Queue('prepare', { connection });
  const flows = new FlowProducer({ connection });
  const workers = [
    new Worker<{ card: string }>('prepare', async (job) => {
      await flows.add(pipelineFlow(job.data.card, specs.get(job.data.card)!));
    }, { connection, concurrency: 50 }),
    new Worker<AgentJob>('agent', (job) => runSleeper(opts.timeline, 'bullmq', job.data.card, job.data.step, job.data.sleepMs), {
      connection,
      concurrency: opts.agentConcurrency,
    }),
    new Worker<{ card: string }>('publish', async () => {}, { connection, concurrency: 50 }),
  ];
  workers[2]!.on('completed', (job) => publishedAt.set(job.data.card, Date.now()));
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const server = await startWebhookServer(SECRET, async (card, deliveryId) => {
    await prepare.add('prepare', { card }, { deduplication: { id: deliveryId } });
  });
  const run = Date.now().toString(36);
  let next = 0;

  return {
    name: 'bullmq',
    async newCards(list) {
      return list.map((spec) => {
        const card = `bullmq:${run}:${++next}`;
        specs.set(card, spec);
        return card;
      });
    },
    signedDelivery: (card, deliveryId) => signedPost(server.url, SECRET, JSON.stringify({ card }), deliveryId),
    published(cards, timeoutMs = 300_000) {
      return until('bullmq publish jobs', timeoutMs, async () =>
        cards.every((c) => publishedAt.has(c)) ? new Map(cards.map((c) => [c, publishedAt.get(c)!])) : null, 20);
    },
    async stop() {
      await server.close();
      await Promise.all(workers.map((w) => w.close()));
      await flows.close();
      await prepare.close();
    },
  };
}
