/**
 * Dynamic config the tests' clusters add over deploy/temporal/dynamicconfig.yaml (the launcher layers it into a
 * file of the cluster's own; `npm run cluster` reads the shared file alone). Empty while the tests need nothing
 * more: a new namespace's readiness is waited for by probing it (waitForNamespaceReady), not by tuning caches.
 */
export const TEST_DYNAMIC_CONFIG: Record<string, unknown> = {};
