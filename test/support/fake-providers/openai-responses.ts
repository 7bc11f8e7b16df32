/**
 * A stand-in for OpenAI's Responses API, as much of it as the Codex CLI calls:
 * `POST /v1/responses`, streamed as server-sent events. It plays a scripted agent turn:
 *   1. a request without a tool result → a call to the file-writing tool the request offers: `apply_patch`
 *      (what Codex gives models it knows, such as `gpt-5.5`) adding a file, else `exec_command` (any other
 *      slug) running a heredoc in the absolute cwd from the request's environment context;
 *   2. a request that carries that tool's output → a final assistant message.
 * Every response reports the same usage; every request is recorded for the test to inspect.
 */
import type { RecordedRequest } from './recording-server';
import { answer500, greetingFile, startRecordingServer, writeSse } from './recording-server';

export interface FakeResponsesOptions {
  /** The file the n-th tool call (counted from 0 across this server's life) creates, relative to the cwd. */
  file?(n: number): { name: string; content: string };
  finalMessage?: string;
}

export interface FakeResponses {
  /** For the provider's base URL (`<origin>/v1`). */
  url: string;
  requests: RecordedRequest[];
  /** Only the Responses API calls. */
  responseRequests(): ResponsesRequest[];
  /** `ok`: the scripted turn; `error500`: every call fails with HTTP 500. */
  mode: 'ok' | 'error500';
  /** The absolute paths the tool calls handed out so far create, in order, and the tool each used. */
  written: Array<{ path: string; tool: 'apply_patch' | 'exec_command' }>;
  close(): Promise<void>;
}

/** The parts of a Responses API request the script and the tests read. */
export interface ResponsesRequest {
  model: string;
  stream?: boolean;
  input: Array<{ type?: string; role?: string; content?: unknown; [key: string]: unknown }>;
  tools?: Array<{ type: string; name?: string }>;
}

/** Per response; Codex sums a turn's responses (two per scripted turn). */
export const USAGE = { input_tokens: 1000, cached_tokens: 200, output_tokens: 50 };
const TOOL_OUTPUTS = new Set(['function_call_output', 'custom_tool_call_output']);

export async function startFakeResponses(options: FakeResponsesOptions = {}): Promise<FakeResponses> {
  const file = options.file ?? greetingFile('Codex');
  const finalMessage = options.finalMessage ?? 'Done: I wrote the file.';
  let responses = 0;

  const fake: FakeResponses = {
    url: '',
    requests: [],
    responseRequests: () => fake.requests.filter(isResponsesCall).map((r) => r.body as ResponsesRequest),
    mode: 'ok',
    written: [],
    close: () => server.close(),
  };

  const server = await startRecordingServer((request, res) => {
    if (!isResponsesCall(request)) return false;
    if (fake.mode === 'error500') return answer500(res, { error: { type: 'server_error', message: 'Internal server error (fake)' } });
    const body = request.body as ResponsesRequest;
    const id = `resp_fake_${++responses}`;
    if (body.input.some((item) => TOOL_OUTPUTS.has(String(item.type)))) {
      writeSse(res, response(id, { type: 'message', role: 'assistant', id: `msg_${id}`, status: 'completed', content: [{ type: 'output_text', text: finalMessage, annotations: [] }] }));
      return true;
    }
    const cwd = workingDirectory(body);
    if (!cwd) throw new Error('no <cwd> in the environment context');
    const { name, content } = file(fake.written.length);
    const call = toolCall(body, name, content, cwd, `call_${id}`);
    fake.written.push({ path: `${cwd}/${name}`, tool: call.tool });
    writeSse(res, response(id, call.item));
    return true;
  });
  fake.url = `${server.origin}/v1`;
  fake.requests = server.requests;
  return fake;
}

function isResponsesCall(request: RecordedRequest): boolean {
  return request.method === 'POST' && request.url.split('?')[0] === '/v1/responses';
}

/** A call to the file-writing tool this request offers. */
function toolCall(body: ResponsesRequest, name: string, content: string, cwd: string, callId: string): { tool: 'apply_patch' | 'exec_command'; item: Record<string, unknown> } {
  const tools = body.tools ?? [];
  const applyPatch = tools.find((tool) => tool.name === 'apply_patch');
  if (applyPatch) {
    const lines = content.replace(/\n$/, '').split('\n');
    const patch = ['*** Begin Patch', `*** Add File: ${name}`, ...lines.map((line) => `+${line}`), '*** End Patch', ''].join('\n');
    const item =
      applyPatch.type === 'custom'
        ? { type: 'custom_tool_call', id: `ctc_${callId}`, call_id: callId, name: 'apply_patch', input: patch }
        : { type: 'function_call', id: `fc_${callId}`, call_id: callId, name: 'apply_patch', arguments: JSON.stringify({ input: patch }) };
    return { tool: 'apply_patch', item };
  }
  if (tools.some((tool) => tool.name === 'exec_command')) {
    // The model's own command, as a model would write it: a quoted heredoc keeps the content literal.
    const cmd = `cat > '${name.replace(/'/g, `'\\''`)}' <<'EOF'\n${content.replace(/\n$/, '')}\nEOF`;
    return { tool: 'exec_command', item: { type: 'function_call', id: `fc_${callId}`, call_id: callId, name: 'exec_command', arguments: JSON.stringify({ cmd, workdir: cwd }) } };
  }
  throw new Error(`the request offers no file-writing tool: ${tools.map((t) => t.name ?? t.type).join(', ')}`);
}

/** One streamed response with a single output item. */
function response(id: string, item: Record<string, unknown>): Array<{ event: string; data: unknown }> {
  const usage = {
    input_tokens: USAGE.input_tokens,
    input_tokens_details: { cached_tokens: USAGE.cached_tokens },
    output_tokens: USAGE.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: USAGE.input_tokens + USAGE.output_tokens,
  };
  return [
    { event: 'response.created', data: { type: 'response.created', response: { id } } },
    { event: 'response.output_item.done', data: { type: 'response.output_item.done', output_index: 0, item } },
    { event: 'response.completed', data: { type: 'response.completed', response: { id, usage } } },
  ];
}

/** The absolute working directory Codex puts in its `<environment_context>` message. */
export function workingDirectory(body: ResponsesRequest): string | null {
  return /<cwd>([^<]+)<\/cwd>/.exec(JSON.stringify(body.input))?.[1] ?? null;
}

/** Every text of a request's user messages (the prompt, the environment context). */
export function userText(body: ResponsesRequest): string {
  return body.input
    .filter((item) => item.role === 'user')
    .flatMap((item) => (Array.isArray(item.content) ? item.content : []))
    .map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : ''))
    .join('\n');
}
