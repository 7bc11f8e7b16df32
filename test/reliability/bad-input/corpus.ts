/** Loads test/fixtures/bad-input/*.json and turns a case's data into concrete strings and bytes. */
import fs from 'node:fs';
import path from 'node:path';
import { corpusFile, type BadInputCase, type CaseBody, type Gen } from './types';

export const CORPUS_DIR = path.join(__dirname, '..', '..', 'fixtures', 'bad-input');

export function loadCorpus(options: { quickOnly?: boolean } = {}): BadInputCase[] {
  const cases = fs
    .readdirSync(CORPUS_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .flatMap((name) => corpusFile.parse(JSON.parse(fs.readFileSync(path.join(CORPUS_DIR, name), 'utf8'))).cases);
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`duplicate bad-input case id ${c.id}`);
    ids.add(c.id);
  }
  return options.quickOnly ? cases.filter((c) => c.quick) : cases;
}

/** Values for the {{name}} placeholders of one run. */
export type Placeholders = Record<string, string>;

export function fill(text: string, values: Placeholders): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole);
}

function isGen(value: unknown): value is Gen {
  return typeof value === 'object' && value !== null && '$gen' in value;
}

export function generate(gen: Gen): string {
  if (gen.$gen === 'repeat') return gen.text.repeat(gen.times);
  return gen.open.repeat(gen.depth) + gen.inner + gen.close.repeat(gen.depth);
}

/** A case's text field: a literal (placeholders filled) or a generated string. */
export function text(value: string | Gen, values: Placeholders): string {
  return typeof value === 'string' ? fill(value, values) : generate(value);
}

/** JSON with placeholders filled in every string and `$gen` objects replaced by what they generate. */
function expandJson(value: unknown, values: Placeholders): unknown {
  if (typeof value === 'string') return fill(value, values);
  if (isGen(value)) return generate(value);
  if (Array.isArray(value)) return value.map((v) => expandJson(v, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandJson(v, values)]));
  }
  return value;
}

export function bodyBytes(body: CaseBody, values: Placeholders): Buffer {
  if ('base64' in body) return Buffer.from(body.base64, 'base64');
  if ('text' in body) return Buffer.from(text(body.text, values), 'utf8');
  return Buffer.from(JSON.stringify(expandJson(body.json, values)), 'utf8');
}
