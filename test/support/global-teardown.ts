/** Jest globalTeardown of the `integration` project: stops whatever global-setup.ts started, nothing else. */
import { stopAll } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const started = globalThis.__OUIJA_TEST_SERVICES__;
  if (started) await stopAll(started);
}
for (const ms of [100, 600, 1200, 2000]) setTimeout(() => {
  console.log('RES', ms, process.getActiveResourcesInfo());
}, ms).unref();
