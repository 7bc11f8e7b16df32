import fc from 'fast-check';
import { parseAgentLine } from '../../../src/plugins/agent/protocol';

describe('parseAgentLine', () => {
  test('reads the three protocol events', () => {
    expect(parseAgentLine('{"type":"progress","message":"reading the card"}')).toEqual({ type: 'progress', message: 'reading the card' });
    expect(parseAgentLine('{"type":"heartbeat"}')).toEqual({ type: 'heartbeat' });
    expect(
      parseAgentLine('{"type":"result","summary":"done","tokens":{"input":120,"output":30},"costUsd":0.01,"sessionId":"s-1"}'),
    ).toEqual({ type: 'result', summary: 'done', tokens: { input: 120, output: 30 }, costUsd: 0.01, sessionId: 's-1' });
  });

  test('a result needs only its summary, and leaves no undefined keys behind', () => {
    const event = parseAgentLine('{"type":"result","summary":"ok"}');
    expect(event).toEqual({ type: 'result', summary: 'ok' });
    expect(Object.keys(event)).toEqual(['type', 'summary']);
  });

  test('malformed optional metadata is dropped, not the result', () => {
    expect(parseAgentLine('{"type":"result","summary":"ok","tokens":{"input":-1,"output":"many"},"costUsd":"free","sessionId":7}')).toEqual({
      type: 'result',
      summary: 'ok',
    });
  });

  test('unknown fields are ignored', () => {
    expect(parseAgentLine('{"type":"heartbeat","at":123}')).toEqual({ type: 'heartbeat' });
  });

  test('non-JSON lines are progress text, kept verbatim', () => {
    expect(parseAgentLine('Compiling 3 files...')).toEqual({ type: 'progress', message: 'Compiling 3 files...' });
    expect(parseAgentLine('  {not json')).toEqual({ type: 'progress', message: '  {not json' });
  });

  test('JSON that is not a protocol event is progress text', () => {
    for (const line of ['{"type":"weird"}', '{"type":"progress"}', '{"type":"result","summary":3}', '{}', '{"message":"x"}']) {
      expect(parseAgentLine(line)).toEqual({ type: 'progress', message: line });
    }
    expect(parseAgentLine('[1,2]')).toEqual({ type: 'progress', message: '[1,2]' });
    expect(parseAgentLine('42')).toEqual({ type: 'progress', message: '42' });
  });

  test('blank lines are heartbeats', () => {
    expect(parseAgentLine('')).toEqual({ type: 'heartbeat' });
    expect(parseAgentLine('  \r')).toEqual({ type: 'heartbeat' });
  });

  test('never throws, and always returns a known event type', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (line) => {
        expect(['progress', 'heartbeat', 'result']).toContain(parseAgentLine(line).type);
      }),
    );
  });
});
