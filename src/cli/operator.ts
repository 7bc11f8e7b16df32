/**
 * `ouija retry <card>` and `ouija cancel <card>`: sent to Ouija's HTTP API (OUIJA_URL, default the local
 * `ouija dev`), which delivers them through the same ingestion path and signal as the board's own events.
 */
import type { Command } from 'commander';
import { cardKeyFromArg } from '../core/cards';
import { loadConfig } from '../config';

export function registerOperatorCommands(program: Command): void {
  for (const action of ['retry', 'cancel'] as const) {
    program
      .command(`${action} <card>`)
      .description(action === 'retry' ? 'start a fresh run of a failed or cancelled card' : 'cancel a running card (its agent is killed)')
      .action((card: string) => operatorCommand(action, card));
  }
}

async function operatorCommand(action: 'retry' | 'cancel', card: string): Promise<void> {
  const config = loadConfig();
  const base = process.env.OUIJA_URL ?? `http://127.0.0.1:${config.port}`;
  const token = process.env.OUIJA_API_TOKEN;
  const res = await fetch(`${base}/api/operator/cards/${encodeURIComponent(cardKeyFromArg(card))}/${action}`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${action} failed (${res.status}): ${String(body.error ?? JSON.stringify(body))}`);
  process.stdout.write(`${action}: ${String(body.status)}${body.reason ? ` (${String(body.reason)})` : ''} — delivery ${String(body.deliveryId)}\n`);
}
