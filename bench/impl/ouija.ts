/**
 * Ouija, the real product path: a whole Ouija started through workers/all-in-one.ts `startOuija` (as
 * test/support/ouija-harness.ts does) with its own namespace, a fresh Postgres database, a bare git remote and
 * the sleeper as its `command` agent; cards on the built-in board, moved into work by signed webhooks.
 * Its pipeline is configuration, fixed per instance: start one instance per pipeline shape.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { workflowIdForCard } from '../../src/core/cards';
import type { OuijaConfig } from '../../src/config';
import { log } from '../../src/log';
import { OUIJA_PHASE } from '../../src/temporal/search-attributes';
import { stateQuery } from '../../workflows/messages';
import { isolatedOuija } from '../../test/support/isolated-ouija';
import { startWorkerProcess, stopKillableWorker } from '../../test/reliability/support/killable-process';
import { startOuija } from '../../workers/all-in-one';
import { workflowWorkerCounters } from '../ouija-metrics';
import { SLEEPER } from '../timeline';
import { activityTimings, publishCompletedAt } from './history';
import { signedPost, until, type BenchImpl, type CardSpec } from './types';

const SECRET = 'bench-ouija-secret';

export interface OuijaBenchOptions {
  address: string;
  timeline: string;
  /** Steps in order; `{ parallel: [...] }` is one parallel group (as in Ouija's configuration). */
  pipeline: OuijaConfig['pipeline'];
  agentConcurrency: number;
  /** A prebuilt bundle of workflows/ (bundling takes seconds; build it once per bench run). */
  workflowBundlePath: string;
  /** The agents and git queues in a worker process of their own; this process keeps HTTP, workflows, board, notify. */
  workersApart: boolean;
  /** `workers.maxCachedWorkflows` (undefined: the SDK's default). */
  maxCachedWorkflows?: number;
}

export async function startOuijaBench(opts: OuijaBenchOptions): Promise<BenchImpl> {
  const { config, namespace, remote, database, workDir } = await isolatedOuija({
    address: opts.address,
    prefix: 'bench-ouija',
    builtinWebhookSecret: SECRET,
    overrides: {
      pipeline: opts.pipeline,
      agent: {
        adapter: 'command',
        command: process.execPath,
        args: [SLEEPER],
        env: { BENCH_TIMELINE: opts.timeline, BENCH_IMPL: 'ouija' },
        maxConcurrent: opts.agentConcurrency,
      },
      ...(opts.maxCachedWorkflows !== undefined ? { workers: { maxCachedWorkflows: opts.maxCachedWorkflows } } : {}),
    },
  });
  // Card IDs restart in each instance's fresh database: a board of its own keeps card keys (and so the
  // timeline's entries) apart from an earlier instance's.
  const BOARD = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const ouija = await startOuija({
    config,
    temporalAddress: opts.address,
    http: true,
    log,
    workflowBundle: { codePath: opts.workflowBundlePath },
    ...(opts.workersApart ? { queues: ['workflows', 'board', 'notify'] } : {}),
  });
  const apart = opts.workersApart ? await startWorkerProcess(config, ['agents', 'git'], opts.address) : undefined;
  const url = ouija.url!;
  const api = async (route: string, body: unknown) => {
    const res = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string };
  };
  await api('/api/boards', { id: BOARD, name: 'Bench board', repo: remote });
  const handle = (card: string) => ouija.temporal.workflow.getHandle(workflowIdForCard(card));

  return {
    name: 'ouija',
    async newCards(list) {
      const keys: string[] = [];
      for (const spec of list) {
        if (JSON.stringify(pipelineOf(spec)) !== JSON.stringify(opts.pipeline.map((e) => (typeof e === 'string' ? e : e.parallel)))) {
          throw new Error(`this Ouija instance runs the pipeline ${JSON.stringify(opts.pipeline)}, not ${JSON.stringify(spec)}`);
        }
        // The sleeper reads its step's sleep from the card body (bench/agent/sleeper.js).
        const body = `bench: ${spec.steps.map((step, i) => `sleep@${step}=${spec.sleepsMs[i] ?? 0}`).join(' ')}`;
        const card = await api(`/api/boards/${BOARD}/cards`, { title: 'bench card', body });
        keys.push(`builtin:${BOARD}:${card.id}`);
      }
      return keys;
    },
    signedDelivery(card, deliveryId) {
      const cardId = card.split(':').pop()!;
      const body = JSON.stringify({ type: 'card.moved', boardId: BOARD, cardId, column: 'in-progress' });
      return signedPost(`${url}/webhooks/builtin`, SECRET, body, deliveryId);
    },
    async published(cards, timeoutMs = 300_000) {
      // Polled in Postgres (the publish activity opens the card's review request there), not by querying every
      // pending workflow every 200 ms: at 1,000 cards those queries were most of the worker's load. A card with a
      // review request is then read once from its history; pending cards are checked for failure now and then.
      // Only the latest requests are read: listing all of them every 200 ms costs in proportion to N, in the
      // process that also runs Ouija's workflow worker. The window reaches back 1,000 ids because ids are taken
      // at insert, not at commit: a row with a smaller id can become visible after a larger one.
      const out = new Map<string, number>();
      const pending = new Set(cards);
      const open = new Set<string>();
      let lastId = 0;
      let round = 0;
      await until('Ouija cards in review', timeoutMs, async () => {
        const opened = await database.db.selectFrom('review_requests').select(['id', 'card_key']).where('id', '>', lastId - 1000).orderBy('id').execute();
        for (const row of opened) {
          open.add(row.card_key);
          lastId = Math.max(lastId, Number(row.id));
        }
        for (const card of [...pending].filter((c) => open.has(c))) {
          const at = await publishCompletedAt(handle(card)).catch(() => null); // not closed yet: next round
          if (at !== null) {
            out.set(card, at);
            pending.delete(card);
          }
        }
        if (++round % 25 === 0) {
          // The phase search attribute, not a query: a query on a workflow out of the worker's cache replays
          // it there, evicting another (the load this bench measures at N=5,000).
          for (const card of [...pending].slice(0, 20)) {
            const phase = (await handle(card).describe().catch(() => null))?.typedSearchAttributes.get(OUIJA_PHASE);
            if (phase === 'failed') throw new Error(`card ${card} failed: ${(await handle(card).query(stateQuery)).lastError}`);
          }
        }
        return pending.size === 0 ? out : null;
      }, 200);
      // A few cards (the latency scenarios): also let them reach review, as before, so the next one starts on a quiet worker.
      if (cards.length <= 10) {
        await until('Ouija cards in review', timeoutMs, async () => {
          const phases = await Promise.all(cards.map((c) => handle(c).query(stateQuery).then((s) => s.phase).catch(() => null)));
          return phases.every((p) => p === 'review') ? true : null;
        }, 100);
      }
      return out;
    },
    activities: (card) => activityTimings(handle(card)),
    workflowWorkerCounters: () => workflowWorkerCounters(namespace),
    async stop() {
      if (apart) await stopKillableWorker(apart);
      await ouija.stop();
      await database.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** A card spec's pipeline shape: step names, a parallel group as one array of them. */
function pipelineOf(spec: CardSpec): Array<string | string[]> {
  return spec.parallel ? [spec.steps] : spec.steps;
}
