/** What every implementation of the card pipeline offers the scenarios. */
import type { ActivityTiming } from './history';

/** A card's pipeline: its agent steps, how long each agent sleeps, and whether the steps run as one parallel group. */
export interface CardSpec {
  steps: string[];
  sleepsMs: number[];
  parallel: boolean;
}

export interface Delivery {
  /** Epoch ms when the request was sent, and when its 2xx arrived ("accepted"). */
  sentAt: number;
  acceptedAt: number;
  status: number;
}

export interface BenchImpl {
  readonly name: string;
  /** Creates cards (not yet in work) and returns their keys, as the sleeper agent reports them. */
  newCards(specs: CardSpec[]): Promise<string[]>;
  /** One signed webhook delivery that moves the card into work. */
  deliver(card: string, deliveryId: string): Promise<Delivery>;
  /** Waits until every card has published; returns when each card's publish step completed (epoch ms). */
  published(cards: string[], timeoutMs?: number): Promise<Map<string, number>>;
  /** Temporal implementations: the card's activities as its history shows them (where the time went). */
  activities?(card: string): Promise<ActivityTiming[]>;
  stop(): Promise<void>;
}

export async function postSigned(url: string, body: string, signature: string, deliveryId: string): Promise<Delivery> {
  const sentAt = Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-ouija-delivery': deliveryId, 'x-ouija-signature': signature },
    body,
  });
  await res.arrayBuffer();
  return { sentAt, acceptedAt: Date.now(), status: res.status };
}

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
