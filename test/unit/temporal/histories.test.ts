import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { InvalidCardRefError } from '../../../src/core/cards';
import { cardWorkflowId, loadHistories, readHistoryFile, type LoadedHistory } from '../../../src/temporal/histories';
import { formatHistoryJson, parseHistoryJson } from '../../../src/temporal/history-json';
import { traceHistory } from '../../../src/temporal/trace';
import { HistoryBuilder } from './history-builder';

/** A run whose events carry nested enums: a failure's timeout type, retry states, task queue kinds. */
function sample() {
  const b = new HistoryBuilder();
  b.signal({ type: 'card.moved', column: 'working', deliveryId: 'd1' });
  b.workflowTask();
  const first = b.schedule('prepareWorkspace', 'r1/prepare/0');
  b.timeOut(first);
  b.workflowTask();
  const notify = b.schedule('notify', '1');
  b.complete(notify, null);
  b.signal({ type: 'card.moved', column: 'working', deliveryId: 'd2' });
  b.workflowTask();
  return b.build();
}

type Json = unknown;
/** Rewrites every key and string value of a JSON tree. */
function rewrite(value: Json, key: (k: string) => string, str: (s: string, k: string) => string, at = ''): Json {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, key, str, at));
  if (typeof value === 'string') return str(value, at);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [key(k), rewrite(v, key, str, k)]));
}

/** How older Temporal tools wrote enums: `WorkflowExecutionStarted`, `Normal`, `Heartbeat`. */
const SHORTHAND_PREFIXES: Record<string, string> = { eventType: 'EVENT_TYPE_', kind: 'TASK_QUEUE_KIND_', timeoutType: 'TIMEOUT_TYPE_', retryState: 'RETRY_STATE_' };
const shorthand = (s: string, key: string) => {
  const prefix = SHORTHAND_PREFIXES[key];
  if (!prefix || !s.startsWith(prefix)) return s;
  return s
    .slice(prefix.length)
    .toLowerCase()
    .replace(/(^|_)([a-z0-9])/g, (_m, _sep, c: string) => c.toUpperCase());
};
const snakeCase = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

describe('history JSON', () => {
  const canonical = formatHistoryJson(sample());

  test('what Ouija writes is the Temporal CLI format, and reads back to the same history', () => {
    const json = JSON.parse(canonical);
    expect(json.events[0]).toMatchObject({ eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' });
    expect(json.events[0].workflowExecutionStartedEventAttributes.input.payloads[0].metadata.encoding).toBe(Buffer.from('json/plain').toString('base64'));
    expect(formatHistoryJson(parseHistoryJson(json))).toBe(canonical);
  });

  test('shorthand enum names and snake_case keys, at any depth, read as the full ones', () => {
    const legacy = rewrite(JSON.parse(canonical), snakeCase, shorthand) as { events: Array<Record<string, unknown>> };
    expect(legacy.events[0]).toMatchObject({ event_id: '1', event_type: 'WorkflowExecutionStarted' });
    expect(JSON.stringify(legacy)).toContain('"timeout_type":"Heartbeat"');
    expect(formatHistoryJson(parseHistoryJson(legacy))).toBe(canonical);
  });

  test("the Web UI's readable download (payloads decoded in place) reads as the encoded one", () => {
    const isPayload = (v: unknown): v is { metadata: Record<string, string>; data?: string } => typeof v === 'object' && v !== null && 'metadata' in v;
    const readable = JSON.parse(canonical, (_key, value: unknown) => {
      if (!isPayload(value)) return value;
      const metadata = Object.fromEntries(Object.entries(value.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      return { metadata, data: JSON.parse(Buffer.from(value.data ?? '', 'base64').toString()) };
    });
    expect(readable.events[1].workflowExecutionSignaledEventAttributes.input.payloads[0]).toEqual({
      metadata: { encoding: 'json/plain' },
      data: { type: 'card.moved', column: 'working', deliveryId: 'd1' },
    });
    const parsed = parseHistoryJson(readable);
    expect(formatHistoryJson(parsed)).toBe(canonical);
    expect(traceHistory(parsed).map((s) => s.after.phase)).toEqual(['preparing', 'failed', 'preparing']);

    // Search attributes may come decoded all the way down to bare values.
    readable.events[0].workflowExecutionStartedEventAttributes.searchAttributes = { indexedFields: { OuijaCard: 'builtin:b1:c1' } };
    const attrs = parseHistoryJson(readable).events![0]!.workflowExecutionStartedEventAttributes!;
    expect(defaultPayloadConverter.fromPayload(attrs.searchAttributes!.indexedFields!.OuijaCard!)).toBe('builtin:b1:c1');
  });

  test("the HTTP API's response shape is accepted; anything without events is refused", () => {
    expect(formatHistoryJson(parseHistoryJson({ history: JSON.parse(canonical) }))).toBe(canonical);
    expect(() => parseHistoryJson({ workflows: [] })).toThrow(/not a workflow history/);
    expect(() => parseHistoryJson([])).toThrow(/not a workflow history/);
    expect(() => parseHistoryJson({ events: [] })).toThrow(/not a workflow history/);
  });
});

describe('history files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-histories-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a folder yields every .json file in name order, named by the workflow ID in its start event', async () => {
    fs.writeFileSync(path.join(dir, 'b.json'), formatHistoryJson(sample()));
    fs.writeFileSync(path.join(dir, 'a.json'), formatHistoryJson(sample()));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a history');
    const loaded: LoadedHistory[] = [];
    for await (const l of loadHistories(dir)) loaded.push(l);
    expect(loaded.map((l) => [path.basename(l.source), l.workflowId, l.history.events?.length])).toEqual([
      ['a.json', 'card:builtin:b1:c1', sample().events?.length],
      ['b.json', 'card:builtin:b1:c1', sample().events?.length],
    ]);
  });

  test('errors name the file; a card needs a server', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{ "events": ');
    await expect(readHistoryFile(bad)).rejects.toThrow(`${bad} is not JSON`);
    fs.writeFileSync(bad, '{}');
    await expect(readHistoryFile(bad)).rejects.toThrow(`${bad}: not a workflow history`);
    const iterate = async (arg: string) => {
      for await (const _ of loadHistories(arg)) void _;
    };
    await expect(iterate('builtin:b1:c1')).rejects.toThrow(/no Temporal server/);
    await expect(iterate(path.join(dir, 'missing.json'))).rejects.toThrow(InvalidCardRefError);
  });

  test('cards are named by key or workflow ID', () => {
    expect(cardWorkflowId('builtin:b1:c1')).toBe('card:builtin:b1:c1');
    expect(cardWorkflowId('card:builtin:b1:c1')).toBe('card:builtin:b1:c1');
    expect(() => cardWorkflowId('card:nope')).toThrow(InvalidCardRefError);
  });
});
