/**
 * Agents' progress events and per-card usage, on the real Postgres server and on embedded PGlite: a card's
 * stream in order across runs from a cursor, batched writes, and token/cost totals.
 */
import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import {
  AgentEventWriter,
  appendAgentEvents,
  cardTotals,
  connectDatabase,
  finishAgentRun,
  listCardEvents,
  migrateToLatest,
  startAgentRun,
  type Database,
} from '../../../src/db';
import { log } from '../../../src/log';
import { createTestDatabase } from '../../support/database';

/** Counts INSERT statements that reach the database. */
class InsertCounter implements KyselyPlugin {
  inserts = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'InsertQueryNode') this.inserts++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

let runs = 0;
function newRun(db: Kysely<Database>, cardKey: string, attempt = 1) {
  return startAgentRun(db, { cardKey, workflowId: `card:${cardKey}`, runId: `run-${++runs}`, effectId: 'r1/agent/implement/0', step: 'implement', attempt, agent: 'demo' });
}

const backends: Array<[string, () => Promise<{ db: Kysely<Database>; close(): Promise<void> }>]> = [
  ['Postgres', () => createTestDatabase()],
  [
    'PGlite',
    async () => {
      const connection = await connectDatabase({});
      await migrateToLatest(connection.db);
      return connection;
    },
  ],
];

describe.each(backends)('agent events and usage on %s', (_name, open) => {
  let db: Kysely<Database>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
  }, 60_000);
  afterAll(async () => close?.());

  it("reads a card's events in order across its runs, from a cursor, and never another card's", async () => {
    const first = await newRun(db, 'builtin:b1:c1', 1);
    const other = await newRun(db, 'builtin:b1:c2');
    await appendAgentEvents(db, first, [{ type: 'progress', message: 'one', tool: 'Write', turn: 1 }, { type: 'session', message: 'sess-1' }]);
    await appendAgentEvents(db, other, [{ type: 'progress', message: 'elsewhere' }]);
    const second = await newRun(db, 'builtin:b1:c1', 2);
    await appendAgentEvents(db, second, [{ type: 'stderr', message: 'two' }, { type: 'result', message: 'done' }]);

    const all = await listCardEvents(db, 'builtin:b1:c1');
    expect(all.map((e) => [e.type, e.message, e.attempt])).toEqual([
      ['progress', 'one', 1],
      ['session', 'sess-1', 1],
      ['stderr', 'two', 2],
      ['result', 'done', 2],
    ]);
    expect(all[0]).toMatchObject({ tool: 'Write', turn: 1, step: 'implement', agent: 'demo', agentRunId: first });
    expect(all[0]!.at).toBeInstanceOf(Date);
    const seqs = all.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    expect((await listCardEvents(db, 'builtin:b1:c1', { after: seqs[1] })).map((e) => e.message)).toEqual(['two', 'done']);
    expect(await listCardEvents(db, 'builtin:b1:c1', { after: seqs[3] })).toEqual([]);
    expect((await listCardEvents(db, 'builtin:b1:c1', { limit: 1 })).map((e) => e.message)).toEqual(['one']);
  });

  it('writes a chatty run in a few batches, keeps its order, and caps how much one run can store', async () => {
    const counter = new InsertCounter();
    const run = await newRun(db, 'builtin:b1:chatty');
    const writer = new AgentEventWriter(db.withPlugin(counter), run, { log, maxBatch: 100, maxEvents: 450, flushEveryMs: 50 });
    for (let i = 0; i < 500; i++) writer.add({ type: 'progress', message: `line ${i}` });
    await writer.close();
    writer.add({ type: 'progress', message: 'after close' });

    const events = await listCardEvents(db, 'builtin:b1:chatty', { limit: 1000 });
    expect(events).toHaveLength(451);
    expect(events.slice(0, 450).map((e) => e.message)).toEqual(Array.from({ length: 450 }, (_, i) => `line ${i}`));
    expect(events[450]!.message).toMatch(/50 more events were not recorded/);
    expect(counter.inserts).toBeLessThanOrEqual(6);
  });

  it('flushes on its own timer while the agent is still running', async () => {
    const run = await newRun(db, 'builtin:b1:live');
    const writer = new AgentEventWriter(db, run, { log, flushEveryMs: 50 });
    writer.add({ type: 'progress', message: 'early' });
    const deadline = Date.now() + 5000;
    while ((await listCardEvents(db, 'builtin:b1:live')).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await listCardEvents(db, 'builtin:b1:live')).map((e) => e.message)).toEqual(['early']);
    await writer.close();
  });

  it('sums tokens and cost over every run of a card, failed ones included', async () => {
    expect(await cardTotals(db, 'builtin:b1:none')).toEqual({ runs: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, runsWithoutCost: 0 });
    const a = await newRun(db, 'builtin:b1:costly', 1);
    await finishAgentRun(db, a, { exitCode: 1, outcome: 'failed', tokensIn: 100, tokensOut: 20, costUsd: 0.0125 });
    const b = await newRun(db, 'builtin:b1:costly', 2);
    await finishAgentRun(db, b, { exitCode: 0, outcome: 'succeeded', tokensIn: 1000, tokensOut: 300, costUsd: 0.25 });
    const c = await newRun(db, 'builtin:b1:costly', 3);
    await finishAgentRun(db, c, { exitCode: null, outcome: 'hung' });
    await finishAgentRun(db, await newRun(db, 'builtin:b1:other'), { exitCode: 0, outcome: 'succeeded', tokensIn: 5, tokensOut: 5, costUsd: 9 });

    const totals = await cardTotals(db, 'builtin:b1:costly');
    expect(totals).toEqual({ runs: 3, tokensIn: 1100, tokensOut: 320, costUsd: expect.closeTo(0.2625, 10), runsWithoutCost: 1 });
  });
});
