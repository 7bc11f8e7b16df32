/**
 * Buffers one agent run's events and appends them in batches: a chatty agent prints hundreds of lines a
 * second, and one INSERT per line would make the database its bottleneck. Writing progress is best effort:
 * a failed batch is logged and dropped, never allowed to stop or fail the agent.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../log';
import { appendAgentEvents, type NewAgentEvent } from './agent-events';
import type { Database } from './schema';

export interface AgentEventWriterOptions {
  /** Longest an event waits in the buffer (default 250 ms: "live" for a human, few INSERTs for the database). */
  flushEveryMs?: number;
  /** Flush at once when this many are buffered (default 200). */
  maxBatch?: number;
  /** Events kept per run (default 10 000); beyond that they are counted, and one line says how many were dropped. */
  maxEvents?: number;
  /** Longer messages are cut (default 4000 characters). */
  maxMessageChars?: number;
  log: Logger;
}

export class AgentEventWriter {
  private buffer: NewAgentEvent[] = [];
  private accepted = 0;
  private dropped = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly maxBatch: number;
  private readonly maxEvents: number;
  private readonly maxMessageChars: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly agentRunId: number,
    private readonly options: AgentEventWriterOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 200;
    this.maxEvents = options.maxEvents ?? 10_000;
    this.maxMessageChars = options.maxMessageChars ?? 4000;
    this.timer = setInterval(() => this.flush(), options.flushEveryMs ?? 250);
    this.timer.unref();
  }

  add(event: NewAgentEvent): void {
    if (this.closed) return;
    if (this.accepted >= this.maxEvents) {
      this.dropped++;
      return;
    }
    this.accepted++;
    const message = event.message.length > this.maxMessageChars ? `${event.message.slice(0, this.maxMessageChars)}…` : event.message;
    this.buffer.push({ ...event, message, at: event.at ?? new Date() });
    if (this.buffer.length >= this.maxBatch) this.flush();
  }

  /** Writes what is buffered and stops; resolves once every batch has been written (or given up on). */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    this.closed = true;
    clearInterval(this.timer);
    if (this.dropped > 0) {
      this.buffer.push({ type: 'progress', message: `(${this.dropped} more events were not recorded: over ${this.maxEvents} for one run)`, at: new Date() });
    }
    this.flush();
    return this.chain;
  }

  /** Batches are written one after another, so `seq` follows the order the agent printed them in. */
  private flush(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.chain = this.chain.then(() =>
      appendAgentEvents(this.db, this.agentRunId, batch).catch((err: unknown) => {
        this.options.log.warn({ err, agentRunId: this.agentRunId, events: batch.length }, 'could not record agent progress events');
      }),
    );
  }
}
