/** What every implementation of the card pipeline offers the scenarios. */
import { signBuiltinBody } from '../../src/plugins/kanban/builtin';
import type { ActivityTiming } from './history';

/** A card's pipeline: its agent steps, how long each agent sleeps, and whether the steps run as one parallel group. */
export interface CardSpec {
  steps: string[];
  sleepsMs: number[];
  parallel: boolean;
}

export interface Delivery {
  /** Epoch ms when the answer arrived ("accepted" when it is a 2xx). */
  acceptedAt: number;
  status: number;
}

/** One signed webhook delivery as it goes over the wire: sent by `deliver` (fetch) or by autocannon (scenario 4). */
export interface SignedDelivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface BenchImpl {
  readonly name: string;
  /** Creates cards (not yet in work) and returns their keys, as the sleeper agent reports them. */
  newCards(specs: CardSpec[]): Promise<string[]>;
  /** The signed webhook delivery (a POST) that moves the card into work; the same ID may be sent again. */
  signedDelivery(card: string, deliveryId: string): SignedDelivery;
  /** Waits until every card has published; returns when each card's publish step completed (epoch ms). */
  published(cards: string[], timeoutMs?: number): Promise<Map<string, number>>;
  /** Temporal implementations: the card's activities as its history shows them (where the time went). */
  activities?(card: string): Promise<ActivityTiming[]>;
  /** Ouija: its workflow worker's counters from the SDK (sticky cache, replays, workflow tasks), for scenario 5. */
  workflowWorkerCounters?(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** A POST in the built-in board's signature format (HMAC-SHA256 of the raw body), as all three implementations verify it. */
export function signedPost(url: string, secret: string, body: string, deliveryId: string): SignedDelivery {
  return {
    url,
    headers: { 'content-type': 'application/json', 'x-ouija-delivery': deliveryId, 'x-ouija-signature': signBuiltinBody(secret, body) },
    body,
  };
}

/** Sends one signed delivery of `impl` with fetch and waits for its answer. */
export async function deliver(impl: BenchImpl, card: string, deliveryId: string): Promise<Delivery> {
  const { url, headers, body } = impl.signedDelivery(card, deliveryId);
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return { acceptedAt: Date.now(), status: res.status };
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
