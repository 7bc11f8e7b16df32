/**
 * History JSON in, `History` out, whichever tool wrote the file. Today's Temporal CLI (`temporal workflow show
 * -o json`, 1.9.1) and the Web UI's "Download" (raw, UI 2.54) write the same proto3 JSON: `{ "events": [...] }`,
 * camelCase keys, full enum names (`EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`), base64 payloads; Ouija writes it
 * too, with the SDK's own `historyToJSON`. Older tools and the UI's other download modes differ, and the SDK's
 * `historyFromJSON` only half copes: it rewrites shorthand enums (`WorkflowExecutionStarted`) in a fixed list
 * of fields and silently drops anything else it does not know (an unknown enum name becomes UNSPECIFIED, a
 * snake_case key disappears). So this walks the JSON alongside the protobuf schema and repairs, at every depth:
 * - shorthand enum names (`StartToClose` → `TIMEOUT_TYPE_START_TO_CLOSE`),
 * - snake_case keys (`event_id` → `eventId`),
 * - "readable" payloads, as the UI's decoded download writes them (`{ metadata: { encoding: 'json/plain' },
 *   data: <the value> }`, or a bare value), back into base64 payloads,
 * accepts the HTTP API's response shape `{ "history": { "events": [...] } }` as well, and then parses it with
 * protobufjs's ProtoJSON codec over the SDK's History type, as `historyFromJSON` does.
 */
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { Type, type Enum, type Field, type Root } from 'protobufjs';
import { fromJson } from 'protobufjs/ext/protojson';

type Json = unknown;
type JsonObject = Record<string, Json>;

// The generated module's types lack the reflection API that the patched root has at run time (as in the SDK).
const historyType = (patchProtobufRoot(proto) as unknown as Root).lookupType('temporal.api.history.v1.History');

/** Parses history JSON written by the Temporal CLI, the Web UI (any download mode) or the HTTP API. */
export function parseHistoryJson(json: Json): History {
  const body = isObject(json) && !Array.isArray(json.events) && isObject(json.history) ? json.history : json;
  // Every run's history begins with its start event: an empty one is no history (the replay worker would choke on it).
  if (!isObject(body) || !Array.isArray(body.events) || body.events.length === 0) {
    throw new TypeError('not a workflow history: expected a JSON object with a non-empty "events" array');
  }
  // Unknown fields (from a newer server) are skipped, as the SDK's own parser does.
  return fromJson(historyType, normalizeMessage(historyType, body), { ignoreUnknownFields: true }) as History;
}

/** Proto3 JSON text `{ "events": [...] }`, pretty-printed as the Temporal CLI prints it: the SDK's own writer. */
export const formatHistoryJson: (history: History) => string = historyToJSON;

/** The same JSON with the repairs described above applied; unknown keys are left for the parser to ignore. */
function normalizeMessage(type: Type, value: Json): Json {
  if (type.fullName === '.temporal.api.common.v1.Payload') return normalizePayload(value);
  // Well-known types (Timestamp, Duration, Struct, …) have their own JSON forms: leave them alone.
  if (!isObject(value) || type.fullName.startsWith('.google.protobuf.')) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const field = type.fields[key] ?? type.fields[camelCase(key)];
    if (!field) {
      out[key] = item;
      continue;
    }
    out[field.name] = normalizeField(field.resolve(), item);
  }
  return out;
}

function normalizeField(field: Field, value: Json): Json {
  if (field.map && isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeValue(field, v)]));
  }
  if (field.repeated && Array.isArray(value)) return value.map((v) => normalizeValue(field, v));
  return normalizeValue(field, value);
}

function normalizeValue(field: Field, value: Json): Json {
  const type = field.resolvedType;
  if (type === null) return value;
  if (type instanceof Type) return normalizeMessage(type, value);
  return typeof value === 'string' ? normalizeEnum(type, value) : value;
}

/** `StartToClose` or `START_TO_CLOSE` → `TIMEOUT_TYPE_START_TO_CLOSE`, when that is a value of the enum. */
function normalizeEnum(type: Enum, value: string): string {
  if (value in type.values) return value;
  const unspecified = Object.keys(type.values).find((name) => name.endsWith('_UNSPECIFIED'));
  if (!unspecified) return value;
  const prefix = unspecified.slice(0, -'UNSPECIFIED'.length);
  const candidate = prefix + (/^[A-Z0-9_]+$/.test(value) ? value : constantCase(value));
  return candidate in type.values ? candidate : value;
}

/** Encodings as the UI's readable download spells them (in clear text, not base64). */
const ENCODING = /^[a-z]+\/[a-z0-9.+_-]+$/i;

/**
 * A payload in proto JSON is `{ metadata: { key: base64 }, data: base64 }`. The UI's readable download writes
 * `{ metadata: { encoding: 'json/plain' }, data: <decoded value> }` instead: re-encode that one.
 */
function normalizePayload(value: Json): Json {
  // Search attributes and memos may even be decoded to bare values; objects stay ambiguous and are left alone.
  if (!isObject(value)) return { metadata: { encoding: toBase64('json/plain') }, data: toBase64(JSON.stringify(value)) };
  if (!isObject(value.metadata)) return value;
  const encoding = value.metadata.encoding;
  if (typeof encoding !== 'string' || !ENCODING.test(encoding) || ENCODING.test(fromBase64(encoding))) return value;
  const metadata = Object.fromEntries(Object.entries(value.metadata).map(([k, v]) => [k, toBase64(typeof v === 'string' ? v : JSON.stringify(v))]));
  if (encoding === 'binary/null' || value.data === undefined) return { ...value, metadata };
  const text = encoding.startsWith('json/') ? JSON.stringify(value.data) : String(value.data);
  return { ...value, metadata, data: toBase64(text) };
}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const camelCase = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const constantCase = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const toBase64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const fromBase64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');
