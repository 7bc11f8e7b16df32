/**
 * Writes test/fixtures/bad-input/*.json: the corpus is data (reviewable, diffable), this script only saves
 * typing it. Run `npx tsx test/reliability/bad-input/generate-corpus.ts` after changing it, then read the diff.
 */
import fs from 'node:fs';
import path from 'node:path';
import { corpusFile, type BadInputCaseInput as BadInputCase, type CaseBodyInput as CaseBody, type CorpusFileInput as CorpusFile, type GenInput as Gen, type SignatureMode } from './types';

const OUT = path.join(__dirname, '..', '..', 'fixtures', 'bad-input');

// A well-formed built-in event for a card that does not exist: a correct delivery is answered 202 "ignored".
const ghostMove = { type: 'card.moved', boardId: '{{boardId}}', cardId: 'ghost', column: 'in-progress' };
const ping = { zen: 'Keep it logically awesome.', hook_id: 1, hook: { type: 'Repository', id: 1, events: ['issues'] } };

function signatures(): CorpusFile {
  const cases: BadInputCase[] = [];
  const forged: Array<[SignatureMode, string]> = [
    ['none', 'no signature header'],
    ['empty', 'empty signature header'],
    ['prefix-only', '"sha256=" and nothing else'],
    ['zeros', 'right length, all zeros'],
    ['truncated', 'valid HMAC with its last two hex digits cut off'],
    ['extended', 'valid HMAC with two extra hex digits'],
    ['flipped', 'valid HMAC with one hex digit changed (same length)'],
    ['uppercase', 'valid HMAC in upper-case hex (senders use lower case; accepting it would widen the match)'],
    ['bare-hex', 'valid HMAC without the sha256= prefix'],
    ['base64', 'valid HMAC in base64'],
    ['sha1', 'wrong algorithm: sha1= HMAC of the body with the right secret'],
    ['sha512', 'wrong algorithm: sha512= HMAC with the right secret'],
    ['md5-length', 'wrong algorithm: MD5 HMAC padded to SHA-256 length'],
    ['other-secret', 'HMAC under another secret'],
    ['other-body', 'valid HMAC of a different body (one byte longer)'],
    ['empty-secret', 'HMAC under the empty secret'],
    ['doubled', 'the valid value twice, comma-separated'],
    ['wrong-prefix-case', 'valid HMAC labelled SHA256='],
    ['non-ascii', 'a non-ASCII byte in the signature'],
    ['legacy-header-only', 'only the legacy SHA-1 header (X-Hub-Signature), no SHA-256 one'],
  ];
  for (const provider of ['builtin', 'github'] as const) {
    const body = provider === 'builtin' ? { json: ghostMove } : { json: ping };
    const headers: Record<string, string> = provider === 'github' ? { 'x-github-event': 'ping' } : {};
    for (const [mode, what] of forged) {
      cases.push({ kind: 'webhook', id: `${provider}-sig-${mode}`, what: `${provider}: ${what}`, quick: mode === 'truncated' || mode === 'sha1', provider, body, signature: mode, headers, expect: { status: 401 } });
    }
    // HTTP strips surrounding whitespace from header values, so these reach the check as the honest value.
    for (const mode of ['leading-space', 'trailing-space'] as const) {
      cases.push({ kind: 'webhook', id: `${provider}-sig-${mode}`, what: `${provider}: valid HMAC with ${mode} (HTTP trims it: accepted)`, quick: false, provider, body, signature: mode, headers, expect: { status: provider === 'github' ? 200 : 202 } });
    }
    cases.push({ kind: 'webhook', id: `${provider}-sig-valid`, what: `${provider}: the honest delivery (control case)`, quick: true, provider, body, signature: 'valid', headers, expect: { status: provider === 'github' ? 200 : 202 } });
    // Forged AND oversized or malformed: the signature is checked first, so the forger learns nothing else.
    cases.push({ kind: 'webhook', id: `${provider}-sig-forged-malformed`, what: `${provider}: forged signature on a body that is not JSON`, quick: false, provider, body: { text: '{"type":' }, signature: 'zeros', headers, expect: { status: 401 } });
  }
  return { description: 'Forged, truncated and wrong-algorithm signatures on both signed webhook providers. Neither the built-in board nor GitHub signs a timestamp, so there is no replay window to test: a replayed delivery is caught by its delivery ID instead (retry-storm scenario).', cases };
}

function bodies(): CorpusFile {
  const cases: BadInputCase[] = [];
  const add = (id: string, what: string, body: CaseBody, status: number, quick = false) =>
    cases.push({ kind: 'webhook', id: `builtin-body-${id}`, what, quick, provider: 'builtin', body, signature: 'valid', headers: {}, expect: { status } });
  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['whitespace', '   \n\t '],
    ['open-brace', '{'],
    ['truncated-object', '{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-pro'],
    ['trailing-comma', '{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress",}'],
    ['single-quotes', "{'type':'card.moved'}"],
    ['comment', '{"type":"card.moved" /* hi */}'],
    ['nan', '{"type":"card.moved","x":NaN}'],
    ['trailing-garbage', '{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress"} extra'],
    ['two-documents', '{"type":"card.moved"}{"type":"card.moved"}'],
    ['bom', '\ufeff{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress"}'],
    ['unquoted-keys', '{type:"card.moved"}'],
    ['lone-surrogate-escape', '{"type":"card.moved","boardId":"{{boardId}}","cardId":"\\ud800","column":"in-progress"}'],
    ['control-char-in-string', '{"type":"card.moved","boardId":"{{boardId}}","cardId":"gh\u0001ost","column":"in-progress"}'],
    ['xml', '<event type="card.moved"/>'],
    ['form', 'type=card.moved&boardId={{boardId}}&cardId=ghost&column=in-progress'],
  ];
  for (const [id, text] of malformed) add(id, `not JSON: ${id}`, { text }, 400, id === 'truncated-object');
  const wrongShape: Array<[string, unknown]> = [
    ['null', null], ['array', []], ['string', 'card.moved'], ['number', 42], ['true', true], ['empty-object', {}],
    ['no-type', { boardId: '{{boardId}}', cardId: 'ghost', column: 'in-progress' }],
    ['unknown-type', { ...ghostMove, type: 'card.exploded' }],
    ['type-not-string', { ...ghostMove, type: ['card.moved'] }],
    ['board-traversal', { ...ghostMove, boardId: '../../etc' }],
    ['card-traversal', { ...ghostMove, cardId: '../ghost' }],
    ['card-shell', { ...ghostMove, cardId: '$(touch {{sentinel}}/webhook-card)' }],
    ['card-backtick', { ...ghostMove, cardId: '`id`' }],
    ['card-option', { ...ghostMove, cardId: '--upload-pack=touch' }],
    ['card-reflog', { ...ghostMove, cardId: 'HEAD@{1}' }],
    ['card-empty', { ...ghostMove, cardId: '' }],
    ['card-too-long', { ...ghostMove, cardId: 'c'.repeat(129) }],
    ['card-number', { ...ghostMove, cardId: 7 }],
    ['card-object', { ...ghostMove, cardId: { $ne: null } }],
    ['column-empty', { ...ghostMove, column: '' }],
    ['column-too-long', { ...ghostMove, column: 'c'.repeat(65) }],
    ['comments-not-array', { type: 'review.changesRequested', boardId: '{{boardId}}', cardId: 'ghost', comments: 'fix it' }],
    ['comments-too-many', { type: 'review.changesRequested', boardId: '{{boardId}}', cardId: 'ghost', comments: Array.from({ length: 501 }, () => ({ author: 'a', body: 'b' })) }],
    ['comment-line-not-int', { type: 'review.changesRequested', boardId: '{{boardId}}', cardId: 'ghost', comments: [{ author: 'a', body: 'b', line: 1.5 }] }],
  ];
  for (const [id, json] of wrongShape) add(id, `JSON, but not a built-in event: ${id}`, { json }, 400, id === 'card-shell');
  // Deep nesting must not take the server down (a recursive parser would overflow its stack).
  for (const depth of [1_000, 100_000, 1_000_000]) {
    add(`nested-arrays-${depth}`, `arrays nested ${depth} deep`, { text: { $gen: 'nested', open: '[', close: ']', inner: '', depth } }, 400, depth === 100_000);
    add(`nested-objects-${depth}`, `objects nested ${depth} deep`, { text: { $gen: 'nested', open: '{"a":', close: '}', inner: '1', depth } }, 400);
  }
  add('nested-in-event', 'a valid event carrying a 10,000-deep extra field (ignored by the schema)', { json: { ...ghostMove, extra: { $gen: 'nested', open: '[', close: ']', depth: 10_000 } } }, 202);
  // Well-formed events that are harmless: extra and hostile fields are dropped, the unknown card is ignored.
  add('proto-pollution', '__proto__ and constructor keys (must not pollute Object.prototype)', { text: '{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}' }, 202, true);
  add('duplicate-keys', 'duplicate keys (the last one wins, as JSON.parse does)', { text: '{"type":"card.exploded","type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress"}' }, 202);
  add('column-traversal', 'a column named ../../etc (an unknown column: ignored)', { json: { ...ghostMove, column: '../../etc/passwd' } }, 202);
  add('column-shell', 'a column named $(…) (an unknown column: ignored)', { json: { ...ghostMove, column: '$(touch {{sentinel}}/column)' } }, 202);
  add('huge-number', 'a 400-digit number in an extra field', { text: `{"type":"card.moved","boardId":"{{boardId}}","cardId":"ghost","column":"in-progress","n":${'9'.repeat(400)}}` }, 202);
  add('invalid-utf8', 'invalid UTF-8 bytes inside a string', { base64: Buffer.concat([Buffer.from('{"type":"card.moved","boardId":"x","cardId":"gh'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('ost","column":"in-progress"}')]).toString('base64') }, 400);
  add('utf16', 'the event encoded as UTF-16LE', { base64: Buffer.from(JSON.stringify({ type: 'card.moved', boardId: 'x', cardId: 'ghost', column: 'in-progress' }), 'utf16le').toString('base64') }, 400);
  return { description: 'Malformed, wrongly shaped and deeply nested JSON on POST /webhooks/builtin with a valid signature: each a logged 400, or harmless and answered 202.', cases };
}

function headers(): CorpusFile {
  const cases: BadInputCase[] = [];
  const body = { json: ghostMove };
  // The signature covers the raw bytes, so the content type changes nothing: the same event is handled the same.
  const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream', 'application/json; charset=utf-16', 'image/png', '*/*', 'application/json, text/html', 'a'.repeat(1000)];
  types.forEach((type, i) => cases.push({ kind: 'webhook', id: `builtin-content-type-${i}`, what: `content type ${JSON.stringify(type.slice(0, 60))}: raw bytes are verified and parsed the same`, quick: i === 0, provider: 'builtin', body, signature: 'valid', headers: { 'content-type': type }, expect: { status: 202 } }));
  cases.push({ kind: 'webhook', id: 'builtin-content-type-none', what: 'no content type at all', quick: false, provider: 'builtin', body, signature: 'valid', headers: { 'content-type': null }, expect: { status: 202 } });
  // Bodies that claim an encoding they do not have, or one the server does not speak.
  for (const [encoding, status] of [['gzip', 400], ['deflate', 400], ['br', 400], ['compress', 400], ['identity', 202]] as const) {
    cases.push({ kind: 'webhook', id: `builtin-content-encoding-${encoding}`, what: `content-encoding ${encoding} on a plain body`, quick: false, provider: 'builtin', body, signature: 'valid', headers: { 'content-encoding': encoding }, expect: { status } });
  }
  const deliveryIds: Array<[string, string | null]> = [
    ['missing', null], ['empty', ''], ['traversal', '../../etc/passwd'], ['shell', '$(touch {{sentinel}}/delivery)'], ['backtick', '`id`'],
    ['space', 'a b'], ['too-long', 'd'.repeat(201)], ['reflog', 'x@{1}/y'], ['quote', "x'; drop table webhook_deliveries; --"], ['latin1', 'd\u00e9livery'],
  ];
  for (const [id, value] of deliveryIds) {
    // Without a usable delivery ID the row is still logged (with a null ID), so invariant 8 holds.
    cases.push({ kind: 'webhook', id: `builtin-delivery-${id}`, what: `X-Ouija-Delivery: ${id}`, quick: id === 'traversal', provider: 'builtin', body, signature: 'valid', headers: { 'x-ouija-delivery': value }, expect: { status: 400 } });
  }
  cases.push({ kind: 'webhook', id: 'github-event-missing', what: 'GitHub: no X-GitHub-Event header', quick: false, provider: 'github', body: { json: ping }, signature: 'valid', headers: {}, expect: { status: 400 } });
  cases.push({ kind: 'webhook', id: 'github-event-traversal', what: 'GitHub: X-GitHub-Event ../../x', quick: false, provider: 'github', body: { json: ping }, signature: 'valid', headers: { 'x-github-event': '../../x' }, expect: { status: 400 } });
  cases.push({ kind: 'webhook', id: 'github-delivery-shell', what: 'GitHub: X-GitHub-Delivery $(…)', quick: false, provider: 'github', body: { json: ping }, signature: 'valid', headers: { 'x-github-event': 'ping', 'x-github-delivery': '$(id)' }, expect: { status: 400 } });
  cases.push({ kind: 'webhook', id: 'github-not-json', what: 'GitHub: valid signature, body not JSON', quick: false, provider: 'github', body: { text: 'payload=%7B%7D' }, signature: 'valid', headers: { 'x-github-event': 'issues', 'content-type': 'application/x-www-form-urlencoded' }, expect: { status: 400 } });
  cases.push({ kind: 'webhook', id: 'github-unknown-event', what: 'GitHub: an event Ouija does not use (ignored, 202)', quick: false, provider: 'github', body: { json: { action: 'created' } }, signature: 'valid', headers: { 'x-github-event': 'star' }, expect: { status: 202 } });
  cases.push({ kind: 'webhook', id: 'github-issue-missing-fields', what: 'GitHub: an issues event without issue or repository (malformed: 400)', quick: false, provider: 'github', body: { json: { action: 'labeled' } }, signature: 'valid', headers: { 'x-github-event': 'issues' }, expect: { status: 400 } });
  return { description: 'Content types, content encodings, delivery IDs and event headers on the webhook routes.', cases };
}

function boardApi(): CorpusFile {
  const cases: BadInputCase[] = [];
  const add = (id: string, what: string, method: 'POST' | 'GET', p: string, body: CaseBody, status: number, extra: Record<string, string | null> = {}, quick = false) =>
    cases.push({ kind: 'api', id: `api-${id}`, what, quick, method, path: p, body, headers: { 'content-type': 'application/json', ...extra }, expect: { status } });
  add('board-not-json', 'create board: body not JSON', 'POST', '/api/boards', { text: '{"name":' }, 400, {}, true);
  add('board-text-plain', 'create board: JSON sent as text/plain (not parsed, so missing fields)', 'POST', '/api/boards', { json: { name: 'b', repo: '/srv/x' } }, 400, { 'content-type': 'text/plain' });
  add('board-form', 'create board: form-encoded', 'POST', '/api/boards', { text: 'name=b&repo=/srv/x' }, 400, { 'content-type': 'application/x-www-form-urlencoded' });
  add('board-nested', 'create board: 100,000-deep JSON', 'POST', '/api/boards', { text: { $gen: 'nested', open: '[', close: ']', depth: 100_000 } }, 400);
  add('board-array', 'create board: a JSON array', 'POST', '/api/boards', { json: [] }, 400);
  add('board-id-traversal', 'create board: id ../x', 'POST', '/api/boards', { json: { id: '../x', name: 'b', repo: '{{remote}}' } }, 400);
  add('board-id-shell', 'create board: id $(…)', 'POST', '/api/boards', { json: { id: '$(id)', name: 'b', repo: '{{remote}}' } }, 400);
  add('board-base-option', 'create board: base branch --upload-pack=…', 'POST', '/api/boards', { json: { name: 'b', repo: '{{remote}}', baseBranch: '--upload-pack=touch' } }, 400, {}, true);
  add('board-base-reflog', 'create board: base branch main@{1}', 'POST', '/api/boards', { json: { name: 'b', repo: '{{remote}}', baseBranch: 'main@{1}' } }, 400);
  add('board-name-huge', 'create board: 201-character name', 'POST', '/api/boards', { json: { name: 'n'.repeat(201), repo: '{{remote}}' } }, 400);
  add('card-not-json', 'create card: body not JSON', 'POST', '/api/boards/{{boardId}}/cards', { text: '{"title":"x"' }, 400);
  add('card-title-number', 'create card: title is a number', 'POST', '/api/boards/{{boardId}}/cards', { json: { title: 1 } }, 400);
  add('card-title-object', 'create card: title is an object', 'POST', '/api/boards/{{boardId}}/cards', { json: { title: { toString: 'x' } } }, 400);
  add('card-over-json-limit', 'create card: 3 MB request (over the 2 MB JSON limit)', 'POST', '/api/boards/{{boardId}}/cards', { json: { title: 't', body: { $gen: 'repeat', text: 'x', times: 3_000_000 } } }, 413);
  add('card-unknown-board', 'create card on a board id with traversal', 'POST', '/api/boards/..%2F..%2Fetc/cards', { json: { title: 't' } }, 404);
  add('move-version-string', 'move: expectedVersion "1"', 'POST', '/api/cards/{{cardId}}/move', { json: { column: 'review', expectedVersion: '1' } }, 400);
  add('move-version-negative', 'move: expectedVersion -1', 'POST', '/api/cards/{{cardId}}/move', { json: { column: 'review', expectedVersion: -1 } }, 400);
  add('move-version-float', 'move: expectedVersion 1.5', 'POST', '/api/cards/{{cardId}}/move', { json: { column: 'review', expectedVersion: 1.5 } }, 400);
  add('move-version-stale', 'move: expectedVersion far ahead (conflict, not a write)', 'POST', '/api/cards/{{cardId}}/move', { json: { column: 'review', expectedVersion: 999 } }, 409);
  add('move-column-traversal', 'move: column ../../etc', 'POST', '/api/cards/{{cardId}}/move', { json: { column: '../../etc', expectedVersion: 1 } }, 400, {}, true);
  add('move-column-shell', 'move: column $(…)', 'POST', '/api/cards/{{cardId}}/move', { json: { column: '$(touch {{sentinel}}/move)', expectedVersion: 1 } }, 400);
  add('move-unknown-card', 'move: card id with traversal', 'POST', '/api/cards/..%2F..%2Fx/move', { json: { column: 'review', expectedVersion: 1 } }, 404);
  add('changes-empty', 'request changes: no comments', 'POST', '/api/cards/{{cardId}}/request-changes', { json: { comments: [] } }, 400);
  // 40,000 deep stays under the API's 256 kB JSON limit, so the nesting itself is what gets refused.
  add('changes-nested', 'request changes: 40,000-deep JSON', 'POST', '/api/cards/{{cardId}}/request-changes', { text: { $gen: 'nested', open: '{"a":', close: '}', inner: '1', depth: 40_000 } }, 400);
  return { description: 'The built-in board API (JSON, 2 MB limit): malformed and deep JSON, wrong content types, hostile ids, versions and columns.', cases };
}

/** Text that must reach the agent as inert data: never a shell word, a git option or a path. */
const HOSTILE: Array<[string, string]> = [
  ['dotdot', '../../../../../{{sentinel}}/dotdot'],
  ['dollar-paren', '$(touch {{sentinel}}/dollar)'],
  ['backticks', '`touch {{sentinel}}/backtick`'],
  ['upload-pack', '--upload-pack=touch {{sentinel}}/upload-pack'],
  ['option-o', '-oProxyCommand=touch {{sentinel}}/proxy'],
  ['reflog', 'HEAD@{-1} main@{upstream}'],
  ['lock', 'refs/heads/main.lock'],
  ['git-dir', '.git/config and .git/hooks/post-checkout'],
  ['semicolon', 'x; touch {{sentinel}}/semicolon #'],
  ['pipe', 'x | tee {{sentinel}}/pipe'],
  ['and', 'x && touch {{sentinel}}/and'],
  ['redirect', 'x > {{sentinel}}/redirect'],
  ['ifs', 'x${IFS}touch${IFS}{{sentinel}}/ifs'],
  ['newline-cmd', 'title\ntouch {{sentinel}}/newline'],
  ['nul', 'nul\u0000byte'],
  ['control', 'bell\u0007 escape\u001b[31m red \u001b]0;title\u0007'],
  ['crlf', 'a\r\nX-Injected: 1'],
  ['rtl', 'safe\u202egnp.exe'],
  ['bidi-isolates', '\u2066evil\u2069 \u2067x\u2069'],
  ['zero-width', 'ma\u200bin'],
  ['refspec', '+refs/heads/*:refs/heads/*'],
  ['glob', '*?[]~^:\\'],
  ['percent', '%2e%2e%2f%2e%2e%2f'],
  ['tilde-home', '~/.ssh/authorized_keys'],
  ['emoji', 'fix 🐛 in ünïcödé'],
];

function cardText(): CorpusFile {
  const cases: BadInputCase[] = [];
  const quick = new Set(['dollar-paren', 'upload-pack', 'rtl']);
  for (const [id, text] of HOSTILE) {
    if (id === 'nul') {
      // Postgres text cannot hold U+0000: the right answer is a clear 400 (or the character dropped), not a 500.
      cases.push({ kind: 'card', id: 'card-title-nul', what: 'title with a NUL character', quick: false, title: text, body: '', expect: { status: 400 } });
      cases.push({ kind: 'card', id: 'card-body-nul', what: 'body with a NUL character', quick: false, title: 'body nul', body: text, expect: { status: 400 } });
      continue;
    }
    cases.push({ kind: 'card', id: `card-title-${id}`, what: `title: ${id}`, quick: quick.has(id), title: text, body: '', expect: { status: 201, neutralise: 'run' } });
    cases.push({ kind: 'card', id: `card-body-${id}`, what: `body: ${id}`, quick: false, title: `body ${id}`, body: text, expect: { status: 201, neutralise: 'run' } });
  }
  // A card's body travels in every workflow input, so the API keeps it to GitHub's own limit (65,536 characters).
  cases.push({ kind: 'card', id: 'card-body-64k', what: 'body: 65,536 characters (the longest allowed)', quick: false, title: '64k body', body: { $gen: 'repeat', text: 'A quick brown fox. ', times: 3449 }, expect: { status: 201, neutralise: 'run' } });
  cases.push({ kind: 'card', id: 'card-body-1mb', what: 'body: 1 MB of text', quick: false, title: '1 MB body', body: { $gen: 'repeat', text: 'A quick brown fox. ', times: 52_000 }, expect: { status: 413 } });
  cases.push({ kind: 'card', id: 'card-body-2mb-utf8', what: 'body: 650,000 × "€" (1.95 MB of UTF-8, over the API\'s 256 kB JSON limit)', quick: false, title: 'multibyte body', body: { $gen: 'repeat', text: '€', times: 650_000 }, expect: { status: 413 } });
  cases.push({ kind: 'card', id: 'card-title-1000', what: 'title: 1,000 characters of `$(…)` (the longest allowed)', quick: false, title: { $gen: 'repeat', text: '$(x)', times: 250 }, body: '', expect: { status: 201, neutralise: 'run' } });
  cases.push({ kind: 'card', id: 'card-title-1001', what: 'title: 1,001 characters', quick: false, title: { $gen: 'repeat', text: 't', times: 1001 }, body: '', expect: { status: 400 } });
  cases.push({ kind: 'card', id: 'card-title-1mb', what: 'title: 1 MB of text', quick: false, title: { $gen: 'repeat', text: 't', times: 1_000_000 }, body: '', expect: { status: 413 } });
  cases.push({ kind: 'card', id: 'card-title-empty', what: 'title: empty', quick: false, title: '', body: '', expect: { status: 400 } });
  cases.push({ kind: 'card', id: 'card-body-over-1mb', what: 'body: 1,000,001 characters', quick: false, title: 'big', body: { $gen: 'repeat', text: 'b', times: 1_000_001 }, expect: { status: 413 } });
  cases.push({ kind: 'card', id: 'card-body-over-64k', what: 'body: 65,537 characters', quick: false, title: 'just over', body: { $gen: 'repeat', text: 'b', times: 65_537 }, expect: { status: 400 } });
  return { description: 'Cards with hostile titles and bodies, created through the API and run end to end with the demo agent: the branch name is safe, the worktree stays inside the workspace root, and no shell ever sees the text (nothing appears in the sentinel directory).', cases };
}

function repos(): CorpusFile {
  const cases: BadInputCase[] = [];
  const refused: Array<[string, string | Gen]> = [
    ['relative', 'repo.git'], ['dot', '.'], ['traversal', '{{remote}}/../../etc'], ['traversal-mid', '/srv/git/../../etc/passwd'],
    ['backslash-traversal', '/srv/git\\..\\..\\etc'], ['option', '--upload-pack=touch {{sentinel}}/repo-option'],
    ['option-short', '-u touch'], ['ext-helper', 'ext::sh -c touch% {{sentinel}}/ext'], ['fd-helper', 'fd::17'],
    ['http', 'http://example.com/x.git'], ['git-protocol', 'git://example.com/x.git'], ['ftp', 'ftp://example.com/x.git'],
    ['credentials', 'https://user:pass@example.com/x.git'], ['token-user', 'https://ghp_token@github.com/acme/x.git'],
    ['newline', '{{remote}}\n--upload-pack=touch'], ['nul', '{{remote}}\u0000x'], ['rtl', '/srv/git/\u202etig.x'],
    ['space', 'https://example.com/a b.git'], ['empty', ''], ['too-long', { $gen: 'repeat', text: 'a', times: 501 }],
    ['file-relative', 'file://etc/passwd'], ['home', '~/repo.git'], ['scp-traversal', 'git@example.com:../../etc'],
    ['windows', 'C:\\repos\\x'], ['unc', '\\\\server\\share\\x'], ['javascript', 'javascript:alert(1)'],
  ];
  for (const [id, repo] of refused) cases.push({ kind: 'board', id: `repo-${id}`, what: `repository ${id}`, quick: id === 'traversal' || id === 'ext-helper', repo, expect: { status: 400 } });
  // Well-formed locations that are simply not in repos.allow: a board may name them, no card on it can run.
  const notAllowed: Array<[string, string]> = [
    ['url-at-trick', 'https://github.com@evil.example/acme/x.git'], ['ssh-option-host', 'ssh://-oProxyCommand=touch/x'],
    ['encoded-traversal', 'https://github.com/acme/%2e%2e/%2e%2e/x'], ['other-path', '/etc'], ['file-url', 'file:///etc'],
    ['prefix-trick', '{{remote}}-evil'], ['scp', 'git@evil.example:acme/x.git'], ['ipv6', 'https://[::1]/x.git'],
  ];
  for (const [id, repo] of notAllowed) cases.push({ kind: 'board', id: `repo-${id}`, what: `repository ${id} (well-formed, not allowed)`, quick: id === 'url-at-trick', repo, expect: { status: 201, neutralise: 'not-allowed' } });
  return { description: 'Repository names on board creation: traversal, options, remote helpers, URL tricks. Refused with 400, or (well-formed but not in repos.allow) accepted with no way to start a run.', cases };
}

const files: Record<string, CorpusFile> = {
  'webhook-signatures.json': signatures(),
  'webhook-bodies.json': bodies(),
  'webhook-headers.json': headers(),
  'board-api.json': boardApi(),
  'card-text.json': cardText(),
  'board-repos.json': repos(),
};
let total = 0;
for (const [name, file] of Object.entries(files)) {
  corpusFile.parse(file);
  total += file.cases.length;
  fs.writeFileSync(path.join(OUT, name), `${JSON.stringify(file, null, 2)}\n`);
}
console.log(`wrote ${total} cases to ${OUT}`);
