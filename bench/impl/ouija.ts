/**
 * Ouija, the real product path: a whole Ouija started through workers/all-in-one.ts `startOuija` (as
 * test/support/ouija-harness.ts does) with its own namespace, a fresh Postgres database, a bare git remote and
 * the sleeper as its `command` agent; cards on the built-in board, moved into work by signed webhooks.
 * Its pipeline is configuration, fixed per instance: start one instance per pipeline shape.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { workflowIdForCard } from '../../src/core/cards';
import { log } from '../../src/log';
import { signBuiltinBody } from '../../src/plugins/kanban/builtin';
import { stateQuery } from '../../workflows/messages';
import { isolatedOuija } from '../../test/support/isolated-ouija';
import { startOuija } from '../../workers/all-in-one';
import { SLEEPER } from '../timeline';
import { activityTimings, publishCompletedAt } from './history';
import { postSigned, until, type BenchImpl } from './types';

const SECRET = 'bench-ouija-secret';

export interface OuijaBenchOptions {
  address: string;
  timeline: string;
  pipeline: string[];
  agentConcurrency: number;
  /** A prebuilt bundle of workflows/ (bundling takes seconds; build it once per bench run). */
  workflowBundlePath: string;
}

export async function startOuijaBench(opts: OuijaBenchOptions): Promise<BenchImpl> {
  const { config, remote, database, workDir } = await isolatedOuija({
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
    },
  });
  // Card IDs restart in each instance's fresh database: a board of its own keeps card keys (and so the
  // timeline's entries) apart from an earlier instance's.
  const BOARD = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const ouija = await startOuija({ config, temporalAddress: opts.address, http: true, log, workflowBundle: { codePath: opts.workflowBundlePath } });
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
        if (spec.parallel || spec.steps.join() !== opts.pipeline.join() || new Set(spec.sleepsMs).size > 1) {
          throw new Error(`this Ouija instance runs the pipeline [${opts.pipeline.join(', ')}] with one sleep per card, not ${JSON.stringify(spec)}`);
        }
        const card = await api(`/api/boards/${BOARD}/cards`, { title: 'bench card', body: `bench: sleep=${spec.sleepsMs[0] ?? 0}` });
        keys.push(`builtin:${BOARD}:${card.id}`);
      }
      return keys;
    },
    deliver(card, deliveryId) {
      const cardId = card.split(':').pop()!;
      const body = JSON.stringify({ type: 'card.moved', boardId: BOARD, cardId, column: 'in-progress' });
      return postSigned(`${url}/webhooks/builtin`, body, signBuiltinBody(SECRET, body), deliveryId);
    },
    async published(cards, timeoutMs = 300_000) {
      const out = new Map<string, number>();
      await until('Ouija cards in review', timeoutMs, async () => {
        await Promise.all(cards.filter((c) => !out.has(c)).map(async (card) => {
          const state = await handle(card).query(stateQuery).catch(() => null);
          if (state?.phase === 'failed') throw new Error(`card ${card} failed: ${state.lastError}`);
          if (state?.phase === 'review') out.set(card, await publishCompletedAt(handle(card)));
        }));
        return out.size === cards.length ? out : null;
      }, 200);
      return out;
    },
    activities: (card) => activityTimings(handle(card)),
    async stop() {
      await ouija.stop();
      await database.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
