/** The server-sent events reader behind `ouija logs --follow`. */
import { readServerSentEvents, type ServerSentEvent } from '../../../src/cli/sse';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(streamOf(chunks))) out.push(event);
  return out;
}

test('reads messages split anywhere across chunks, with ids, names, comments and multi-line data', async () => {
  const text = 'retry: 1000\n\n: keep-alive\n\nid: 7\ndata: {"a":1}\n\nid: 8\nevent: agent\ndata: line one\ndata: line two\r\n\r\nid: 9\n\n';
  const expected = [
    { id: '7', data: '{"a":1}' },
    { id: '8', event: 'agent', data: 'line one\nline two' },
  ];
  expect(await collect([text])).toEqual(expected);
  // Byte by byte: no message depends on how the stream was chunked.
  expect(await collect(text.split(''))).toEqual(expected);
});

test('drops a message the stream ended in the middle of', async () => {
  expect(await collect(['id: 1\ndata: whole\n\nid: 2\ndata: half'])).toEqual([{ id: '1', data: 'whole' }]);
});
