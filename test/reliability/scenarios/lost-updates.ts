/**
 * Scenario 4, lost updates: `writers` concurrent writers each make `movesPerWriter` moves of one built-in card
 * through the API (compare-and-set on its version; a 409 means re-read and try again). Expected: the final
 * version is 1 + writers × moves and every acknowledged move got its own version. The same load through a naive
 * read-modify-write (SELECT, then UPDATE without the version check) must lose updates, or the check proves nothing.
 */
import { sql } from 'kysely';
import type { Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import type { Scenario } from './scenario';
import { pool } from './send';

const COLUMNS = ['backlog', 'done'];

async function casWriter(h: Harness, cardId: string, moves: number, writer: number): Promise<{ versions: number[]; conflicts: number; errors: number }> {
  const versions: number[] = [];
  let conflicts = 0;
  let errors = 0;
  let expected = (await h.api('GET', `/api/cards/${cardId}`)).body.version as number;
  while (versions.length < moves) {
    const column = COLUMNS[(writer + versions.length) % COLUMNS.length];
    const res = await h.api('POST', `/api/cards/${cardId}/move`, { column, expectedVersion: expected });
    if (res.status === 200) {
      versions.push(res.body.card.version);
      expected = res.body.card.version;
    } else if (res.status === 409) {
      conflicts++;
      expected = res.body.currentVersion;
    } else if (++errors > 20) {
      throw new Error(`move answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  }
  return { versions, conflicts, errors };
}

/** The bug the seed had: read the version, then write read+1 without checking nobody wrote in between. */
async function naiveWriter(h: Harness, cardId: string, moves: number, writer: number): Promise<void> {
  const db = h.database.db;
  for (let i = 0; i < moves; i++) {
    const row = await db.selectFrom('cards').select('version').where('id', '=', cardId).executeTakeFirstOrThrow();
    await db
      .updateTable('cards')
      .set({ column_key: COLUMNS[(writer + i) % COLUMNS.length]!, version: row.version + 1, updated_at: sql`now()` })
      .where('id', '=', cardId)
      .execute();
  }
}

export const lostUpdates: Scenario = {
  name: 'lost-updates',
  async run({ harness: h, params }) {
    const { writers, movesPerWriter: moves } = params;
    const total = writers * moves;

    const cas = await h.newCard('contended (compare-and-set)');
    const started = Date.now();
    const results = await pool(Array.from({ length: writers }, (_, w) => w), writers, (w) => casWriter(h, cas.cardId, moves, w));
    const seconds = Math.round((Date.now() - started) / 1000);
    const finalVersion = (await h.api('GET', `/api/cards/${cas.cardId}`)).body.version as number;
    const acknowledged = results.flatMap((r) => r.versions);
    const distinct = new Set(acknowledged).size;
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
    const lost = cas.version + total - finalVersion;

    const naive = await h.newCard('contended (naive read-modify-write)');
    await pool(Array.from({ length: writers }, (_, w) => w), writers, (w) => naiveWriter(h, naive.cardId, moves, w));
    const naiveFinal = (await h.database.db.selectFrom('cards').select('version').where('id', '=', naive.cardId).executeTakeFirstOrThrow()).version;
    const naiveLost = naive.version + total - naiveFinal;

    return [
      { scenario: '4 lost updates: compare-and-set API', runs: total, expected: `final version ${cas.version + total}, 0 lost`, observed: `final ${finalVersion}, ${lost} lost, ${distinct}/${acknowledged.length} distinct versions acknowledged, ${conflicts} 409s, ${seconds} s`, pass: lost === 0 && finalVersion === cas.version + total && distinct === total },
      { scenario: '4 lost updates: naive read-modify-write', runs: total, expected: 'loses updates (control)', observed: `final ${naiveFinal}, ${naiveLost} lost`, pass: naiveLost > 0 },
    ] satisfies Row[];
  },
};
