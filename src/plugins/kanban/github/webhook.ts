/**
 * POST /webhooks/github: a GitHub webhook delivery (X-Hub-Signature-256 over the raw body) → InboundEvent.
 * The mapping itself is pure (events.ts); this adds the two look-ups it may ask for.
 */
import { Webhooks } from '@octokit/webhooks';
import type { GithubSettings } from '../../../config';
import type { InboundEvent } from '../../../ingest/types';
import { header } from '../signatures';
import { MalformedPayloadError, type WebhookProvider } from '../types';
import { githubTrigger, projectItemTrigger, withFetchedComments, type FetchReviewComments, type GithubMapping, type ResolveProjectItem } from './events';

export const GITHUB_SOURCE = 'github';
const DELIVERY_HEADER = 'x-github-delivery';
const EVENT_HEADER = 'x-github-event';
const SIGNATURE_HEADER = 'x-hub-signature-256';

export interface GithubWebhookOptions {
  /** OUIJA_GITHUB_WEBHOOK_SECRET; without it nothing verifies, so nothing is accepted. */
  secret: string | undefined;
  /** The config's `github` section. */
  config: GithubSettings;
  /** GraphQL look-up of a Projects v2 item (only called when `config.project` is set). */
  resolveProjectItem?: ResolveProjectItem;
  /** REST look-up of a changes-requested review's inline and conversation comments. */
  fetchReviewComments?: FetchReviewComments;
}

export function githubWebhookProvider(options: GithubWebhookOptions): WebhookProvider {
  const webhooks = options.secret === undefined ? null : new Webhooks({ secret: options.secret });
  return {
    source: GITHUB_SOURCE,
    deliveryId: (headers) => header(headers, DELIVERY_HEADER),
    async verify(raw, headers) {
      const signature = header(headers, SIGNATURE_HEADER);
      // SHA-256 only: the library would also take a legacy `sha1=` value.
      if (!webhooks || !signature?.startsWith('sha256=')) return false;
      try {
        // Over the exact bytes received: re-serialised JSON would not match the sender's HMAC.
        return await webhooks.verify(raw.toString('utf8'), signature);
      } catch {
        return false;
      }
    },
    // GitHub's "the hook works" probe wants a plain 200, not "accepted for later".
    ignoredStatus: (event) => (event.event === 'ping' ? 200 : undefined),
    async toEvent(raw, headers) {
      const deliveryId = header(headers, DELIVERY_HEADER);
      if (!deliveryId || !/^[A-Za-z0-9_.:-]{1,200}$/.test(deliveryId)) throw new MalformedPayloadError(`missing or malformed ${DELIVERY_HEADER} header`);
      const event = header(headers, EVENT_HEADER);
      if (!event || !/^[a-z0-9_]{1,100}$/.test(event)) throw new MalformedPayloadError(`missing or malformed ${EVENT_HEADER} header`);
      let payload: unknown;
      try {
        payload = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new MalformedPayloadError(`body is not JSON: ${(err as Error).message}`);
      }
      const action = typeof payload === 'object' && payload !== null && 'action' in payload && typeof payload.action === 'string' ? payload.action : null;
      const base = { source: GITHUB_SOURCE, deliveryId, event: action ? `${event}.${action}` : event, bodyBytes: raw.length };
      const mapping = await resolveLookups(githubTrigger(event, payload, options.config, deliveryId), options, deliveryId);
      if ('ignored' in mapping) return { ...base, card: null, trigger: null, ignoredReason: mapping.ignored };
      if ('lookupProjectItem' in mapping) throw new Error('unreachable: project item look-up not resolved');
      return { ...base, card: mapping.card, trigger: mapping.trigger } satisfies InboundEvent;
    },
  };
}

async function resolveLookups(mapping: GithubMapping, options: GithubWebhookOptions, deliveryId: string): Promise<GithubMapping> {
  if ('lookupProjectItem' in mapping) {
    if (!options.resolveProjectItem) return { ignored: 'project items cannot be resolved (no GitHub API client configured)' };
    const { itemNodeId, contentNodeId } = mapping.lookupProjectItem;
    const item = await options.resolveProjectItem(itemNodeId, contentNodeId ?? undefined);
    return projectItemTrigger(mapping.lookupProjectItem, item, options.config, deliveryId);
  }
  if ('fetchComments' in mapping && mapping.fetchComments && options.fetchReviewComments) {
    // A failure here is a 503: acting on the review body alone would lose the inline comments for good.
    const fetched = await options.fetchReviewComments(mapping.fetchComments);
    return { card: mapping.card, trigger: withFetchedComments(mapping.trigger, fetched) };
  }
  return mapping;
}
