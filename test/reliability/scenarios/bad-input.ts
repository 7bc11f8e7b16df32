/** Scenario 11: every case of the bad-input corpus, plus the whole-run checks (sentinel, prototype, health). */
import { loadCorpus } from '../bad-input/corpus';
import { prepareWorld, runCases, worldChecks } from '../bad-input/run-cases';
import type { Row } from '../report';
import { RELIABILITY_SECRETS, type Scenario } from './scenario';

export const badInput: Scenario = {
  name: 'bad-input',
  async run({ harness, params }) {
    const cases = loadCorpus({ quickOnly: params.quick }).filter((c) => params.cases.length === 0 || params.cases.includes(c.id));
    const world = await prepareWorld(harness, RELIABILITY_SECRETS);
    const outcomes = await runCases(world, cases, { concurrency: 4 });
    const checks = await worldChecks(world);
    const rows: Row[] = [];
    for (const kind of ['webhook', 'api', 'card', 'board'] as const) {
      const mine = outcomes.filter((o) => o.kind === kind);
      const failed = mine.filter((o) => !o.pass);
      rows.push({
        scenario: `11 bad input: ${kind}`,
        runs: mine.length,
        expected: 'right status or neutralised',
        observed: failed.length ? `${failed.length} wrong: ${failed.slice(0, 3).map((f) => `${f.id} → ${f.observed}`).join('; ')}` : `${mine.length}/${mine.length} as expected`,
        pass: failed.length === 0,
        details: { failed, all: mine },
      });
    }
    for (const check of checks) rows.push({ scenario: `11 bad input: ${check.id}`, runs: 1, expected: check.expected, observed: check.observed, pass: check.pass });
    return rows;
  },
};
