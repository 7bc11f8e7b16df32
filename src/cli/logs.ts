/**
 * `ouija logs <card> [--follow] [--json]`: what the card's agents printed (progress, session, result, stderr),
 * from Ouija's HTTP API (OUIJA_URL, default the local `ouija dev`). `--follow` keeps the server-sent events
 * stream open and reconnects from the last event seen, like `tail -f`, until interrupted.
 */
import type { Command } from 'commander';
import { cardKeyFromArg } from '../core/cards';
import { loadConfig } from '../config';
import type { CardAgentEvent } from '../db/agent-events';
import { readServerSentEvents } from './sse';

interface LogsOptions {
  follow?: boolean;
  json?: boolean;
  after?: number;
}

/** Events as JSON carry `at` as an ISO string. */
export type AgentEventJson = Omit<CardAgentEvent, 'at'> & { at: string };

const RECONNECT_MS = 1000;

export function registerLogsCommand(program: Command): void {
  program
    .command('logs <card>')
    .description("the card's agent progress events (progress, session, result, stderr), oldest first")
    .option('-f, --follow', 'keep printing new events as the agents print them (Ctrl-C to stop)')
    .option('--after <seq>', 'only events after this one (the first column of --json output)', (v) => Number(v), 0)
    .option('--json', 'one JSON object per line')
    .action((card: string, opts: LogsOptions) => printLogs(cardKeyFromArg(card), opts));
}

async function printLogs(cardKey: string, opts: LogsOptions): Promise<void> {
  const config = loadConfig();
  const base = process.env.OUIJA_URL ?? `http://127.0.0.1:${config.port}`;
  const url = `${base}/api/cards/${encodeURIComponent(cardKey)}/events`;
  const token = process.env.OUIJA_API_TOKEN;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const print = (event: AgentEventJson) => process.stdout.write(`${opts.json ? JSON.stringify(event) : formatEvent(event)}\n`);
  let after = opts.after ?? 0;

  if (!opts.follow) {
    for (;;) {
      const res = await fetch(`${url}?after=${after}`, { headers: { ...auth, accept: 'application/json' } });
      const body = (await res.json()) as { events?: AgentEventJson[]; next?: number; error?: string };
      if (!res.ok) throw new Error(`logs failed (${res.status}): ${body.error ?? JSON.stringify(body)}`);
      const events = body.events ?? [];
      events.forEach(print);
      if (events.length === 0 || body.next === undefined) return;
      after = body.next;
    }
  }

  for (;;) {
    try {
      const res = await fetch(`${url}?after=${after}`, { headers: { ...auth, accept: 'text/event-stream' } });
      if (!res.ok || !res.body) {
        // A client error will not go away by retrying: say so and stop.
        if (res.status >= 400 && res.status < 500) throw new FatalLogsError(`logs failed (${res.status}): ${await res.text()}`);
        throw new Error(`HTTP ${res.status}`);
      }
      for await (const message of readServerSentEvents(res.body)) {
        const event = JSON.parse(message.data) as AgentEventJson;
        print(event);
        after = event.seq;
      }
    } catch (err) {
      if (err instanceof FatalLogsError) throw err;
      process.stderr.write(`(stream interrupted: ${(err as Error).message}; reconnecting)\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

class FatalLogsError extends Error {}

/** `<time> <step>#<attempt> <type> [tool] message`, one line per event. */
export function formatEvent(event: AgentEventJson): string {
  const where = `${event.step}#${event.attempt}`;
  const tool = event.tool ? `[${event.tool}] ` : '';
  const turn = event.turn ? `(turn ${event.turn}) ` : '';
  return `${event.at} ${where} ${event.type.padEnd(8)} ${turn}${tool}${event.message}`;
}
