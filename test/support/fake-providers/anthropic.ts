/**
 * A stand-in for Anthropic's Messages API, as much of it as Claude Code calls:
 * `POST /v1/messages` with `stream: true`, answered as server-sent events. It plays a scripted agent turn:
 * a fresh prompt gets a `Write` tool call that creates a file under the working directory Claude Code names in
 * its environment section; a tool result gets a final `end_turn` text. Every request is recorded for the test.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { answer500, greetingFile, startRecordingServer, writeSse, type RecordedRequest } from './recording-server';

export type { RecordedRequest } from './recording-server';

export interface FakeAnthropic {
  /** For `ANTHROPIC_BASE_URL`. */
  url: string;
  requests: RecordedRequest[];
  /** Only the Messages API calls. */
  messageRequests(): MessagesRequest[];
  /** `ok`: the scripted turn; `error500`: every call fails with HTTP 500. */
  mode: 'ok' | 'error500';
  /** While true, a call that carries a tool result gets no answer (the agent hangs mid-turn, as in a crash). */
  holdToolResults: boolean;
  /** The absolute paths of the `Write` calls handed out so far, in order. */
  written: string[];
  close(): Promise<void>;
}

/** The parts of a Messages API request the script and the tests read. */
export interface MessagesRequest {
  model: string;
  stream?: boolean;
  system?: string | Array<{ type: string; text?: string }>;
  /** Claude Code 2.1 also sends `system` turns here (its environment section, with the working directory). */
  messages: Array<{ role: 'user' | 'assistant' | 'system'; content: string | ContentBlock[] }>;
}

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content?: unknown; is_error?: boolean }
  | { type: string; [key: string]: unknown };

const USAGE = { input_tokens: 1200, output_tokens: 80 };

/** The file the n-th `Write` of this server's life creates. */
const scriptedFile = greetingFile('Claude Code');

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const held: http.ServerResponse[] = [];

  const fake: FakeAnthropic = {
    url: '',
    requests: [],
    messageRequests: () => fake.requests.filter(isMessagesCall).map((r) => r.body as MessagesRequest),
    mode: 'ok',
    holdToolResults: false,
    written: [],
    close: async () => {
      for (const res of held) res.destroy();
      await server.close();
    },
  };

  const server = await startRecordingServer((request, res) => {
    if (!isMessagesCall(request)) return false;
    const body = request.body as MessagesRequest;
    if (fake.mode === 'error500') return answer500(res, { type: 'error', error: { type: 'api_error', message: 'Internal server error (fake)' } });
    // Unique across servers: a resumed session replays ids an earlier server handed out.
    const id = `msg_fake_${randomUUID()}`;
    if (lastUserTurnIsToolResult(body)) {
      if (fake.holdToolResults) {
        held.push(res);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return true;
      }
      writeSse(res, turn(id, body.model, { type: 'text', text: 'Done: I wrote the file.' }, 'end_turn'));
      return true;
    }
    const cwd = workingDirectory(body);
    if (!cwd) throw new Error('no "Primary working directory" in the request');
    const { name, content } = scriptedFile(fake.written.length);
    const input = { file_path: `${cwd}/${name}`, content };
    fake.written.push(input.file_path);
    writeSse(res, turn(id, body.model, { type: 'tool_use', id: `toolu_fake_${randomUUID()}`, name: 'Write', input }, 'tool_use'));
    return true;
  });
  fake.url = server.origin;
  fake.requests = server.requests;
  return fake;
}

function isMessagesCall(request: RecordedRequest): boolean {
  return request.method === 'POST' && request.url.split('?')[0] === '/v1/messages';
}

/** The working directory Claude Code names in its environment section ("Primary working directory: <cwd>"). */
export function workingDirectory(body: MessagesRequest): string | null {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text ?? '').join('\n');
  const turns = body.messages.filter((m) => m.role === 'system').map((m) => textOf(m.content));
  return /Primary working directory: (.+)/.exec([system, ...turns].join('\n'))?.[1]?.trim() ?? null;
}

function textOf(content: string | ContentBlock[]): string {
  return typeof content === 'string' ? content : content.map((b) => ('text' in b && typeof b.text === 'string' ? b.text : '')).join('\n');
}

function lastUserTurnIsToolResult(body: MessagesRequest): boolean {
  const last = body.messages.at(-1);
  return Array.isArray(last?.content) && last.content.some((block) => block.type === 'tool_result');
}

/** One assistant message with a single content block, as the streaming Messages API sends it. */
function turn(
  id: string,
  model: string,
  block: { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown },
  stopReason: 'tool_use' | 'end_turn',
): Array<{ event: string; data: unknown }> {
  const start = block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} };
  const delta = block.type === 'text' ? { type: 'text_delta', text: block.text } : { type: 'input_json_delta', partial_json: JSON.stringify(block.input) };
  return [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: USAGE.input_tokens, output_tokens: 1 } },
      },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: start } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: USAGE.output_tokens } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ];
}

/** Every text a request's user turns carry (prompts and tool results), for "did the CLI see X" assertions. */
export function userText(body: MessagesRequest): string {
  return body.messages
    .filter((m) => m.role === 'user')
    .map((m) => textOf(m.content))
    .join('\n');
}
