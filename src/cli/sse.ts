/** A minimal server-sent events reader (the subset Ouija's streams use: `id`, `event`, `data`, comments). */

export interface ServerSentEvent {
  id?: string;
  event?: string;
  data: string;
}

/** The messages in a byte stream, as they arrive. Comment lines (`: …`) and `retry:` are skipped. */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let message: { id?: string; event?: string; data: string[] } = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.search(/\r?\n/)) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(buffered[newline] === '\r' ? newline + 2 : newline + 1);
        if (line === '') {
          // A blank line ends a message; one without data (only an id, say) dispatches nothing.
          if (message.data.length > 0) yield { ...(message.id !== undefined ? { id: message.id } : {}), ...(message.event !== undefined ? { event: message.event } : {}), data: message.data.join('\n') };
          message = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') message.data.push(value);
        else if (field === 'id') message.id = value;
        else if (field === 'event') message.event = value;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
