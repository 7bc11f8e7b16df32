/**
 * Scenario 10, context bleed: `bleed-cards` cards (default 30) go through ONE warm-session agent profile (the demo
 * agent with `session: { warm: true, maxTasks: bleed-max-tasks }`, default 2) — the first half one after another,
 * the rest `bleed-concurrency` at a time — and every `bleed-revise-every`-th card (default 5) gets
 * `bleed-max-tasks` review rounds on top of its first pass, so its session is really reused and then rotated.
 * Every card's title, body and review comments carry canary strings that belong to that card alone.
 *
 * The demo agent keeps its warm "context" in the session directory Ouija hands it and records everything it saw
 * (context + current task) in `$OUIJA_RUN_DIR/seen.json`. Checked from those records:
 * - bleed: no task's input holds a canary of another card (and each holds its own, so the check reads the input);
 * - reuse: a card's round r saw exactly its own rounds since the session began, under the same session id;
 * - rotation: round `maxTasks` started a fresh session (empty context, new id).
 * Control: the same checker over the same demo agent, run directly (runAgent, no Ouija) with ONE session
 * directory shared by all cards — the seed's "session per agent" — must report bleed, or the checker proves nothing.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoAgentAdapter, runAgent, warmSessionForEffect, type AgentTask, type WarmSessionHandle } from '../../../src/plugins/agent';
import type { Harness } from '../../support/ouija-harness';
import type { Row } from '../report';
import { size, type Scenario } from './scenario';
import { pool } from './send';

interface Card {
  index: number;
  cardId: string;
  cardKey: string;
  version: number;
  title: string;
  body: string;
  /** Every canary that belongs to this card: title, body, and one per review comment. */
  canaries: string[];
  rounds: number;
}

interface SeenEntry {
  cardKey: string;
  round: number;
  body: string;
}

/** `$OUIJA_RUN_DIR/seen.json`, as the demo agent writes it. */
interface Seen {
  session: { id: string; task: number; dir: string } | null;
  context: SeenEntry[];
  task: SeenEntry;
}

const canary = (kind: string, card: number) => `canary-${kind}-${card}-${randomBytes(6).toString('hex')}`;

/** Every seen.json under `runsRoot/<card>/<run>/`. */
function readRecords(runsRoot: string): Array<{ file: string; seen: Seen; text: string }> {
  const records: Array<{ file: string; seen: Seen; text: string }> = [];
  if (!fs.existsSync(runsRoot)) return records;
  for (const card of fs.readdirSync(runsRoot)) {
    const cardDir = path.join(runsRoot, card);
    if (!fs.statSync(cardDir).isDirectory()) continue;
    for (const run of fs.readdirSync(cardDir)) {
      const file = path.join(cardDir, run, 'seen.json');
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      records.push({ file, seen: JSON.parse(text) as Seen, text });
    }
  }
  return records;
}

/** The checker: for each recorded input, the canaries of OTHER cards it contains, and whether it has its own. */
export function checkBleed(records: Array<{ file: string; seen: Seen; text: string }>, cards: Card[]) {
  const owner = new Map(cards.map((c) => [c.cardKey, c]));
  let bleedRecords = 0;
  let foreignHits = 0;
  let ownMissing = 0;
  let unknown = 0;
  const examples: string[] = [];
  for (const { file, seen, text } of records) {
    const card = owner.get(seen.task.cardKey);
    if (!card) {
      unknown++;
      continue;
    }
    if (!text.includes(card.canaries[1]!)) ownMissing++;
    const foreign = cards.filter((c) => c !== card).flatMap((c) => c.canaries.filter((k) => text.includes(k)));
    if (foreign.length > 0) {
      bleedRecords++;
      foreignHits += foreign.length;
      if (examples.length < 5) examples.push(`${seen.task.cardKey} round ${seen.task.round} (${path.basename(path.dirname(file))}) saw ${foreign.slice(0, 3).join(', ')}`);
    }
  }
  return { records: records.length, bleedRecords, foreignHits, ownMissing, unknown, examples };
}

async function toReview(h: Harness, card: Card, round: number): Promise<void> {
  const state = await h.waitFor(card.cardKey, (s) => (s.phase === 'review' && s.round === round) || s.phase === 'failed', `${card.cardKey} review round ${round}`, 300_000);
  if (state.phase !== 'review') throw new Error(`${card.cardKey} failed in round ${round}: ${state.lastError ?? JSON.stringify(state).slice(0, 500)}`);
}

/** First pass, then `rounds - 1` revision rounds, each with a comment carrying the card's next canary. */
async function workCard(h: Harness, card: Card): Promise<void> {
  const moved = await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  if (moved.status !== 200) throw new Error(`move ${card.cardKey}: ${moved.status} ${JSON.stringify(moved.body)}`);
  await toReview(h, card, 0);
  for (let round = 1; round < card.rounds; round++) {
    const asked = await h.api('POST', `/api/cards/${card.cardId}/request-changes`, { comments: [{ author: 'reviewer', body: `Round ${round}: ${card.canaries[1 + round]}` }] });
    if (asked.status >= 300) throw new Error(`request changes ${card.cardKey}: ${asked.status} ${JSON.stringify(asked.body)}`);
    await toReview(h, card, round);
  }
}

/** The seed's mistake, reproduced without Ouija: the demo agent run for every card with one shared session dir. */
async function sharedSessionControl(cards: Card[]): Promise<ReturnType<typeof checkBleed>> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bleed-control-'));
  try {
    const worktree = path.join(scratch, 'worktree');
    execFileSync('git', ['init', '-q', worktree]);
    const shared = path.join(scratch, 'agent-session');
    fs.mkdirSync(shared);
    const runsRoot = path.join(scratch, 'runs');
    for (const [i, card] of cards.entries()) {
      const session: WarmSessionHandle = { cardKey: 'agent:demo', scope: '', generation: 0, taskInSession: i, key: 'agent demo', id: 'demo-agent-session', dir: shared };
      const runDir = path.join(runsRoot, `card-${card.index}`, 'r1_agent_implement_0-attempt-1');
      const task: AgentTask = { cardKey: card.cardKey, title: card.title, body: card.body, step: 'implement', stepIndex: 0, round: 0, feedback: [], branch: 'control', worktree };
      await runAgent({ adapter: demoAgentAdapter(), task, runDir, pidFile: path.join(scratch, `agent-${i}.pid`), session, signal: new AbortController().signal, silenceTimeoutMs: 60_000, sandbox: { mode: 'none' }, onEvent: () => undefined });
    }
    return checkBleed(readRecords(runsRoot), cards);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export const contextBleed: Scenario = {
  name: 'context-bleed',
  overrides: (params) => ({ agent: { session: { warm: true, maxTasks: size(params, 'bleed-max-tasks', 2) } } }),
  async run({ harness: h, params }) {
    const count = size(params, 'bleed-cards', 30);
    const maxTasks = size(params, 'bleed-max-tasks', 2);
    const reviseEvery = size(params, 'bleed-revise-every', 5);
    const concurrency = Math.max(1, size(params, 'bleed-concurrency', 4));
    // Revised cards: their first pass plus maxTasks rounds = maxTasks + 1 tasks, so the last one rotates.
    const rounds = (i: number) => (reviseEvery > 0 && i % reviseEvery === 0 ? maxTasks + 1 : 1);

    const cards: Card[] = [];
    for (let i = 0; i < count; i++) {
      const canaries = [canary('title', i), canary('body', i), ...Array.from({ length: rounds(i) - 1 }, (_, r) => canary(`review${r + 1}`, i))];
      const title = `Bleed card ${i} (${canaries[0]})`;
      const body = `Write a note for card ${i}. Secret of this card only: ${canaries[1]}.`;
      const created = await h.newCard(title, body);
      cards.push({ index: i, cardId: created.cardId, cardKey: created.cardKey, version: created.version, title, body, canaries, rounds: rounds(i) });
    }

    const started = Date.now();
    const sequential = cards.slice(0, Math.ceil(count / 2));
    for (const card of sequential) await workCard(h, card);
    await pool(cards.slice(sequential.length), concurrency, (card) => workCard(h, card));
    const seconds = Math.round((Date.now() - started) / 1000);

    const records = readRecords(path.join(h.config.dataDir, 'runs'));
    const bleed = checkBleed(records, cards);
    const tasks = cards.reduce((n, c) => n + c.rounds, 0);

    // Reuse and rotation, from the records of the revised cards (the last attempt of each round).
    const byCard = new Map<string, Map<number, Seen>>();
    for (const { seen } of records) {
      const rounds = byCard.get(seen.task.cardKey) ?? new Map<number, Seen>();
      rounds.set(seen.task.round, seen);
      byCard.set(seen.task.cardKey, rounds);
    }
    const reuse = { checked: 0, ok: 0, failures: [] as string[] };
    const rotation = { checked: 0, ok: 0, failures: [] as string[] };
    for (const card of cards.filter((c) => c.rounds > 1)) {
      const seenRounds = byCard.get(card.cardKey) ?? new Map<number, Seen>();
      for (let round = 0; round < card.rounds; round++) {
        const seen = seenRounds.get(round);
        const expectedId = warmSessionForEffect(card.cardKey, `r1/agent/implement/${round}`, { maxTasks }).id;
        const sessionStart = round - (round % maxTasks);
        const expectedContext = Array.from({ length: round % maxTasks }, (_, k) => sessionStart + k);
        const seenContext = seen?.context.map((e) => (e.cardKey === card.cardKey ? e.round : -1)) ?? null;
        const good = seen !== undefined && seen.session?.id === expectedId && seen.session.task === round % maxTasks && JSON.stringify(seenContext) === JSON.stringify(expectedContext);
        const firstId = seenRounds.get(sessionStart)?.session?.id;
        if (round % maxTasks !== 0) {
          reuse.checked++;
          if (good && firstId === seen!.session!.id) reuse.ok++;
          else reuse.failures.push(`${card.cardKey} round ${round}: session ${seen?.session?.id} task ${seen?.session?.task}, context rounds ${JSON.stringify(seenContext)}, expected ${expectedId} ${JSON.stringify(expectedContext)}`);
        } else if (round > 0) {
          rotation.checked++;
          const previousId = seenRounds.get(round - 1)?.session?.id;
          if (good && seenContext!.length === 0 && previousId !== undefined && previousId !== seen!.session!.id) rotation.ok++;
          else rotation.failures.push(`${card.cardKey} round ${round}: session ${seen?.session?.id} (before: ${previousId}), context rounds ${JSON.stringify(seenContext)}`);
        }
      }
    }
    const sessionDirs = new Map<string, Set<string>>();
    for (const { seen } of records) if (seen.session) sessionDirs.set(seen.session.dir, (sessionDirs.get(seen.session.dir) ?? new Set()).add(seen.task.cardKey));
    const sharedDirs = [...sessionDirs.values()].filter((owners) => owners.size > 1).length;

    const controlCards = cards.slice(0, Math.min(cards.length, 10));
    const control = await sharedSessionControl(controlCards);

    return [
      {
        scenario: '10 context bleed: warm sessions through Ouija',
        runs: bleed.records,
        expected: `0 of >= ${tasks} inputs (${count} cards) hold another card's canary; each holds its own`,
        observed: `${bleed.bleedRecords}/${bleed.records} with foreign canaries (${bleed.foreignHits} hits); ${bleed.ownMissing} lack own, ${bleed.unknown} unknown; ${sessionDirs.size} session dirs, ${sharedDirs} shared; ${seconds} s`,
        pass: bleed.bleedRecords === 0 && bleed.ownMissing === 0 && bleed.unknown === 0 && bleed.records >= tasks && sharedDirs === 0,
        details: { examples: bleed.examples },
      },
      {
        scenario: '10 context bleed: session reused within a card',
        runs: reuse.checked,
        expected: `same derived id; context = own earlier rounds (maxTasks ${maxTasks})`,
        observed: `${reuse.ok}/${reuse.checked} reused as expected`,
        pass: reuse.checked > 0 && reuse.ok === reuse.checked,
        details: { failures: reuse.failures },
      },
      {
        scenario: '10 context bleed: rotated after maxTasks',
        runs: rotation.checked,
        expected: `task ${maxTasks + 1} of a card: fresh session, empty context, new id`,
        observed: `${rotation.ok}/${rotation.checked} rotated`,
        pass: rotation.checked > 0 && rotation.ok === rotation.checked,
        details: { failures: rotation.failures },
      },
      {
        scenario: '10 context bleed: one shared session (control)',
        runs: control.records,
        expected: 'the checker detects bleed',
        observed: `${control.bleedRecords}/${control.records} inputs with foreign canaries (${control.foreignHits} hits)`,
        pass: control.bleedRecords > 0,
        details: { examples: control.examples },
      },
    ] satisfies Row[];
  },
};
