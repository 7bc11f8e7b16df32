/** Jest globalTeardown of the `integration` project: stops whatever global-setup.ts started, nothing else. */
import { stopAll } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const started = globalThis.__OUIJA_TEST_SERVICES__;
  if (started) await stopAll(started);
}
