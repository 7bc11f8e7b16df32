/**
 * GET /metrics: Ouija's own metrics (src/metrics.ts) followed by the Temporal SDK's, in one Prometheus text
 * exposition. The SDK exports from its native core on a loopback port (see workers/queues.ts); this route
 * scrapes that port and appends its text, so operators configure one scrape target per process.
 */
import express from 'express';
import type { Client } from '@temporalio/client';
import type { Logger } from '../log';
import { cardsByPhase, getSdkMetricsUrl, registry } from '../metrics';
import { cachedPhaseCounts, type PhaseCounts } from './card-phase-counts';

export interface MetricsRouteDeps {
  temporal: Client;
  log: Logger;
  /** How long visibility counts are reused across scrapes (default 5 s). */
  phaseCountsTtlMs?: number;
  /** Where the SDK's exporter is (default: what this process's worker runtime bound, if any). */
  sdkMetricsUrl?: () => string | undefined;
}

const SDK_SCRAPE_TIMEOUT_MS = 2_000;

export function metricsRouter(deps: MetricsRouteDeps): express.Router {
  const router = express.Router();
  const log = deps.log.child({ component: 'metrics' });
  const phaseCounts = cachedPhaseCounts(deps.temporal, deps.phaseCountsTtlMs ?? 5_000);
  const sdkUrl = deps.sdkMetricsUrl ?? getSdkMetricsUrl;

  router.get('/metrics', async (_req, res) => {
    await refreshCardsByPhase(phaseCounts, log);
    const [own, sdk] = await Promise.all([registry.metrics(), scrapeSdk(sdkUrl(), log)]);
    res.set('Content-Type', registry.contentType).send(own + sdk);
  });
  return router;
}

/** With Temporal unreachable the gauge has no samples: a missing series is honest, a stale count is not. */
async function refreshCardsByPhase(counts: () => Promise<PhaseCounts>, log: Logger): Promise<void> {
  try {
    const latest = await counts();
    cardsByPhase.reset();
    for (const [phase, n] of latest) cardsByPhase.set({ phase }, n);
  } catch (err) {
    cardsByPhase.reset();
    log.warn({ err }, 'could not count cards by phase in Temporal visibility');
  }
}

/** The SDK's exposition text, or '' when this process runs no workers or the exporter does not answer. */
async function scrapeSdk(url: string | undefined, log: Logger): Promise<string> {
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (err) {
    log.warn({ err, url }, 'could not scrape the Temporal SDK metrics exporter');
    return '';
  }
}
