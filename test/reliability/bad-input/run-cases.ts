/**
 * Runs bad-input cases against a running Ouija (the integration harness) and judges each: the status is the
 * expected one, a 4xx on a webhook is logged in `webhook_rejections`, the server still answers /healthz, and a
 * hostile card that is accepted runs end to end harmlessly (safe branch, worktree inside the workspace root,
 * no file in the sentinel directory that a shell or git option in the text would have created).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isSafeBranchName } from '../../../src/core/cards';
import { countRejections } from '../../../src/db';
import type { Harness } from '../../support/ouija-harness';
import { bodyBytes, fill, text, type Placeholders } from './corpus';
import { signatureHeaders, type SigningProvider } from './signature';
import type { ApiCase, BadInputCase, BoardCase, CardCase, WebhookCase } from './types';

export interface CaseOutcome {
  id: string;
  kind: BadInputCase['kind'];
  expected: string;
  observed: string;
  pass: boolean;
}

export interface CorpusWorld {
  h: Harness;
  providers: Record<WebhookCase['provider'], SigningProvider>;
  /** A directory outside the workspace root that hostile text names; it must stay empty. */
  sentinel: string;
  values: Placeholders;
}

/** Makes the board, card and sentinel directory the cases refer to. */
export async function prepareWorld(h: Harness, secrets: { builtin: string; github: string }): Promise<CorpusWorld> {
  // Not h.newCard: it picks board ids itself (b1, …), which the id sequence behind POST /api/boards without
  // an id would later hand out again (a 500, reported separately); the board cases create boards that way.
  const board = await h.api('POST', '/api/boards', { name: 'bad-input', repo: h.remote });
  const card = await h.api('POST', `/api/boards/${board.body.id}/cards`, { title: 'bad-input target' });
  if (board.status !== 201 || card.status !== 201) throw new Error(`could not make the corpus board: ${JSON.stringify([board.body, card.body])}`);
  const sentinel = path.join(h.workDir, 'sentinel');
  fs.mkdirSync(sentinel, { recursive: true });
  return {
    h,
    sentinel,
    providers: {
      builtin: { header: 'x-ouija-signature', secret: secrets.builtin },
      github: { header: 'x-hub-signature-256', legacyHeader: 'x-hub-signature', secret: secrets.github },
    },
    values: { boardId: board.body.id, cardId: card.body.id, remote: h.remote, sentinel },
  };
}

/**
 * Webhook and API cases run one at a time (a rejection is attributed by counting rows before and after);
 * card and board cases, which wait for agent runs, run `concurrency` at a time.
 */
export async function runCases(world: CorpusWorld, cases: BadInputCase[], options: { concurrency?: number } = {}): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  for (const c of cases) {
    if (c.kind === 'webhook') outcomes.push(await runWebhookCase(world, c));
    else if (c.kind === 'api') outcomes.push(await runApiCase(world, c));
  }
  const slow = cases.filter((c): c is CardCase | BoardCase => c.kind === 'card' || c.kind === 'board');
  const queue = [...slow];
  const workers = Array.from({ length: options.concurrency ?? 4 }, async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      outcomes.push(c.kind === 'card' ? await runCardCase(world, c) : await runBoardCase(world, c));
    }
  });
  await Promise.all(workers);
  return outcomes;
}

/** Checks that hold for the whole run, after every case. */
export async function worldChecks(world: CorpusWorld): Promise<CaseOutcome[]> {
  const leaked = fs.readdirSync(world.sentinel);
  const polluted = (Object.prototype as Record<string, unknown>).polluted;
  return [
    { id: 'sentinel-empty', kind: 'card', expected: 'no file outside the workspace root', observed: leaked.length ? `created: ${leaked.join(', ')}` : 'none', pass: leaked.length === 0 },
    { id: 'no-prototype-pollution', kind: 'webhook', expected: 'Object.prototype untouched', observed: polluted === undefined ? 'untouched' : `polluted=${String(polluted)}`, pass: polluted === undefined },
    { id: 'server-up', kind: 'api', expected: '/healthz 200', observed: String(await healthStatus(world)), pass: (await healthStatus(world)) === 200 },
  ];
}

async function healthStatus(world: CorpusWorld): Promise<number | string> {
  try {
    return (await fetch(`${world.h.ouija.url}/healthz`)).status;
  } catch (err) {
    return `down: ${(err as Error).message}`;
  }
}

function headersFor(defaults: Record<string, string>, overrides: Record<string, string | null>, values: Placeholders): Record<string, string> {
  const out = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) delete out[name.toLowerCase()];
    else out[name.toLowerCase()] = fill(value, values);
  }
  return out;
}

async function send(world: CorpusWorld, method: string, route: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number | string; json: unknown }> {
  try {
    const res = await fetch(`${world.h.ouija.url}${route}`, { method, headers, body: method === 'GET' ? undefined : body });
    const raw = await res.text();
    let json: unknown = raw;
    try {
      json = JSON.parse(raw);
    } catch {
      /* keep the text */
    }
    return { status: res.status, json };
  } catch (err) {
    return { status: `request failed: ${(err as Error).message}`, json: null };
  }
}

async function runWebhookCase(world: CorpusWorld, c: WebhookCase): Promise<CaseOutcome> {
  const body = bodyBytes(c.body, world.values);
  const deliveryHeader = c.provider === 'builtin' ? 'x-ouija-delivery' : 'x-github-delivery';
  const defaults = {
    'content-type': 'application/json',
    [deliveryHeader]: `bad-${c.id}-${crypto.randomUUID().slice(0, 8)}`,
    ...signatureHeaders(world.providers[c.provider], c.signature, body),
  };
  const before = await countRejections(world.h.database.db, { source: c.provider });
  const res = await send(world, 'POST', `/webhooks/${c.provider}`, headersFor(defaults, c.headers, world.values), body);
  const logged = (await countRejections(world.h.database.db, { source: c.provider })) - before;
  const mustLog = c.expect.logged ?? c.expect.status >= 400;
  const health = await healthStatus(world);
  const problems = [
    res.status !== c.expect.status ? `status ${res.status}` : null,
    mustLog && logged !== 1 ? `${logged} rejection rows` : null,
    !mustLog && logged !== 0 ? `unexpected rejection row` : null,
    health !== 200 ? `healthz ${health}` : null,
  ].filter((p): p is string => p !== null);
  return outcome(c, `${c.expect.status}${mustLog ? ' logged' : ''}`, problems, `${res.status}${logged ? ' logged' : ''}`);
}

async function runApiCase(world: CorpusWorld, c: ApiCase): Promise<CaseOutcome> {
  const body = bodyBytes(c.body, world.values);
  const res = await send(world, c.method, fill(c.path, world.values), headersFor({}, c.headers, world.values), body);
  const health = await healthStatus(world);
  const problems = [res.status !== c.expect.status ? `status ${res.status}` : null, health !== 200 ? `healthz ${health}` : null].filter((p): p is string => p !== null);
  return outcome(c, String(c.expect.status), problems, String(res.status));
}

async function runCardCase(world: CorpusWorld, c: CardCase): Promise<CaseOutcome> {
  const { h, values } = world;
  const title = text(c.title, values);
  const cardBody = text(c.body, values);
  const created = await h.api('POST', `/api/boards/${values.boardId}/cards`, { title, body: cardBody });
  const expected = 'neutralise' in c.expect ? '201, runs safely' : String(c.expect.status);
  if (created.status !== c.expect.status) return outcome(c, expected, [`status ${created.status}`], String(created.status));
  if (!('neutralise' in c.expect)) return outcome(c, expected, [], String(created.status));

  const cardKey = `builtin:${values.boardId}:${created.body.id}`;
  const moved = await h.api('POST', `/api/cards/${created.body.id}/move`, { column: 'in-progress', expectedVersion: created.body.version });
  if (moved.status !== 200) return outcome(c, expected, [`move ${moved.status}`], `move ${moved.status}`);
  const problems: string[] = [];
  try {
    const state = await h.waitFor(cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'review or failed', 120_000);
    if (state.phase !== 'review') problems.push(`phase ${state.phase}: ${state.lastError}`);
    const ws = state.workspace;
    if (!ws) problems.push('no workspace');
    else {
      if (!isSafeBranchName(ws.branch)) problems.push(`unsafe branch ${JSON.stringify(ws.branch)}`);
      const root = fs.realpathSync(path.join(h.config.dataDir, 'workspaces'));
      const rel = path.relative(root, ws.path);
      if (rel.startsWith('..') || path.isAbsolute(rel)) problems.push(`worktree outside root: ${ws.path}`);
    }
  } catch (err) {
    problems.push((err as Error).message.slice(0, 200));
  }
  return outcome(c, expected, problems, problems.length ? problems.join('; ') : '201, ran to review, safe branch, inside root');
}

async function runBoardCase(world: CorpusWorld, c: BoardCase): Promise<CaseOutcome> {
  const { h } = world;
  const repo = text(c.repo, world.values);
  const created = await h.api('POST', '/api/boards', { name: `hostile ${c.id}`, repo });
  const expected = 'neutralise' in c.expect ? '201, cannot run (not allowed)' : '400';
  if (created.status !== c.expect.status) {
    // A well-formed-but-not-allowed name refused outright is stricter than required: still safe.
    const stricter = 'neutralise' in c.expect && created.status === 400;
    return outcome(c, expected, stricter ? [] : [`status ${created.status}`], String(created.status));
  }
  if (!('neutralise' in c.expect)) return outcome(c, expected, [], String(created.status));
  const card = await h.api('POST', `/api/boards/${created.body.id}/cards`, { title: 'try to run' });
  const moved = await h.api('POST', `/api/cards/${card.body.id}/move`, { column: 'in-progress', expectedVersion: card.body.version });
  const dispatch = moved.body?.dispatch;
  const ok = moved.status === 200 && dispatch?.status === 'ignored' && /repos\.allow/.test(String(dispatch?.reason));
  return outcome(c, expected, ok ? [] : [`move ${moved.status} ${JSON.stringify(dispatch)}`], ok ? '201, move ignored (not in repos.allow)' : `move ${moved.status} ${dispatch?.status}`);
}

function outcome(c: BadInputCase, expected: string, problems: string[], observed: string): CaseOutcome {
  return { id: c.id, kind: c.kind, expected, observed: problems.length ? problems.join('; ') : observed, pass: problems.length === 0 };
}
