/**
 * A stand-in for OpenAI's Chat Completions API, as much of it as Aider calls through litellm with
 * `--model openai/<name> --openai-api-base <url> --no-stream`: `POST /v1/chat/completions`, answered with one
 * JSON completion. Aider has no tools: it edits through SEARCH/REPLACE blocks in the model's text, so every
 * call is answered with a block that creates a file (relative to the repository root) and a line of prose.
 * Every request is recorded for the test to inspect.
 */
import type { RecordedRequest } from './recording-server';
import { answer500, greetingFile, startRecordingServer } from './recording-server';

export interface FakeChatOptions {
  /** The file the n-th completion (counted from 0 across this server's life) creates, relative to the repo root. */
  file?(n: number): { name: string; content: string };
}

export interface FakeChat {
  /** For `--openai-api-base` (`<origin>/v1`). */
  url: string;
  requests: RecordedRequest[];
  /** Only the Chat Completions calls. */
  chatRequests(): ChatRequest[];
  /** `ok`: the scripted edit; `error500`: every call fails with HTTP 500. */
  mode: 'ok' | 'error500';
  /** The relative paths the completions handed out so far create, in order. */
  written: string[];
  close(): Promise<void>;
}

export interface ChatRequest {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
}

export const USAGE = { prompt_tokens: 1200, completion_tokens: 80 };
export const PROSE = 'I created the file as asked.';

export async function startFakeChat(options: FakeChatOptions = {}): Promise<FakeChat> {
  const file = options.file ?? greetingFile('Aider');
  let completions = 0;

  const fake: FakeChat = {
    url: '',
    requests: [],
    chatRequests: () => fake.requests.filter(isChatCall).map((r) => r.body as ChatRequest),
    mode: 'ok',
    written: [],
    close: () => server.close(),
  };

  const server = await startRecordingServer((request, res) => {
    if (!isChatCall(request)) return false;
    if (fake.mode === 'error500') return answer500(res, { error: { type: 'server_error', message: 'Internal server error (fake)' } });
    const body = request.body as ChatRequest;
    const { name, content } = file(fake.written.length);
    fake.written.push(name);
    const reply = [PROSE, '', name, '```', '<<<<<<< SEARCH', '=======', content.replace(/\n$/, ''), '>>>>>>> REPLACE', '```', ''].join('\n');
    const completion = {
      id: `chatcmpl-fake-${++completions}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
      usage: { ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens },
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
    return true;
  });
  fake.url = `${server.origin}/v1`;
  fake.requests = server.requests;
  return fake;
}

function isChatCall(request: RecordedRequest): boolean {
  return request.method === 'POST' && request.url.split('?')[0] === '/v1/chat/completions';
}

/** Every text of a request's user messages. */
export function userText(body: ChatRequest): string {
  return body.messages
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((part) => part.text ?? '').join('\n')))
    .join('\n');
}
