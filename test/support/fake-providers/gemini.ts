/**
 * A stand-in for the Gemini API, as much of it as the Gemini CLI calls when `-m` names the model
 *: `POST /v1beta/models/<model>:streamGenerateContent?alt=sse`. It plays a scripted
 * agent turn: a fresh prompt gets a `write_file` call for a file under the first workspace directory the CLI
 * names in its session context (the tool wants an absolute path inside the workspace); a function response
 * gets a final text. Every request is recorded for the test to inspect.
 */
import type { RecordedRequest } from './recording-server';
import { answer500, greetingFile, startRecordingServer, writeSse } from './recording-server';

export interface FakeGeminiOptions {
  /** The file the n-th `write_file` (counted from 0 across this server's life) creates, relative to the cwd. */
  file?(n: number): { name: string; content: string };
  finalMessage?: string;
}

export interface FakeGemini {
  /** For `GOOGLE_GEMINI_BASE_URL`. */
  url: string;
  requests: RecordedRequest[];
  /** Only the streamGenerateContent calls. */
  generateRequests(): GenerateRequest[];
  /** `ok`: the scripted turn; `error500`: every call fails with HTTP 500. */
  mode: 'ok' | 'error500';
  /** The absolute paths of the `write_file` calls handed out so far, in order. */
  written: string[];
  close(): Promise<void>;
}

export interface GenerateRequest {
  contents: Array<{ role: 'user' | 'model'; parts: Array<{ text?: string; functionCall?: unknown; functionResponse?: unknown }> }>;
  systemInstruction?: unknown;
  tools?: Array<{ functionDeclarations?: Array<{ name: string }> }>;
}

/** Per response; the CLI adds up a run's responses. */
export const USAGE = { promptTokenCount: 1000, cachedContentTokenCount: 200, candidatesTokenCount: 50 };

export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const file = options.file ?? greetingFile('Gemini');
  const finalMessage = options.finalMessage ?? 'Done: I wrote the file.';
  let responses = 0;

  const fake: FakeGemini = {
    url: '',
    requests: [],
    generateRequests: () => fake.requests.filter(isGenerateCall).map((r) => r.body as GenerateRequest),
    mode: 'ok',
    written: [],
    close: () => server.close(),
  };

  const server = await startRecordingServer((request, res) => {
    if (!isGenerateCall(request)) return false;
    if (fake.mode === 'error500') return answer500(res, { error: { code: 500, message: 'Internal error (fake)', status: 'INTERNAL' } });
    const body = request.body as GenerateRequest;
    const model = /\/models\/([^:/]+):/.exec(request.url)?.[1] ?? 'unknown';
    let parts: unknown[];
    if (body.contents.some((turn) => turn.parts.some((part) => part.functionResponse !== undefined))) {
      parts = [{ text: finalMessage }];
    } else {
      const cwd = workingDirectory(body);
      if (!cwd) throw new Error('no "Workspace Directories" in the session context');
      const { name, content } = file(fake.written.length);
      const filePath = `${cwd}/${name}`;
      fake.written.push(filePath);
      parts = [{ functionCall: { name: 'write_file', args: { file_path: filePath, content } } }];
    }
    const usageMetadata = { ...USAGE, totalTokenCount: USAGE.promptTokenCount + USAGE.candidatesTokenCount };
    writeSse(res, [{ data: { candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: model, responseId: `resp_fake_${++responses}` } }]);
    return true;
  });
  fake.url = server.origin;
  fake.requests = server.requests;
  return fake;
}

function isGenerateCall(request: RecordedRequest): boolean {
  return request.method === 'POST' && /^\/v1beta\/models\/[^/:]+:streamGenerateContent$/.test(request.url.split('?')[0]!);
}

/** The first of the "Workspace Directories" the CLI lists in its session context: its working directory. */
export function workingDirectory(body: GenerateRequest): string | null {
  return /\*\*Workspace Directories:\*\*\s*\n\s*- (\S+)/.exec(userText(body))?.[1] ?? null;
}

/** Every text of a request's user turns (the session context, the prompt). */
export function userText(body: GenerateRequest): string {
  return body.contents
    .filter((turn) => turn.role === 'user')
    .flatMap((turn) => turn.parts.map((part) => part.text ?? ''))
    .join('\n');
}
